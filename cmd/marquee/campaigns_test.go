package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestCampaignsCommand drives history, diff and rollback against a node.
func TestCampaignsCommand(t *testing.T) {
	n := startTestNode(t, pageOrigin(), "  token: s3cret\ncampaigns: []\n")
	admin := n.adminURL()
	cli := func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := run(append([]string{"campaigns"}, append(args, "-admin", admin, "-token", "s3cret")...), &out, &errb)
		return code, out.String(), errb.String()
	}
	if code, b := adminDo(t, "PUT", admin+"/v1/campaigns", allHero); code != 200 {
		t.Fatalf("PUT: %d %s", code, b)
	}
	code, out, errs := cli("history")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 3 || !strings.HasPrefix(lines[0], "VERSION") || !strings.Contains(lines[1], " api ") || !strings.HasPrefix(lines[2], "0 ") || !strings.Contains(lines[2], " file ") {
		t.Fatalf("history: %d\n%s%s", code, out, errs)
	}
	newest, file := strings.Fields(lines[1])[0], strings.Fields(lines[2])[0]

	code, out, errs = cli("diff", file, newest)
	if code != 0 || !strings.Contains(out, "--- version 0 (by file") || !strings.Contains(out, "+    template: '<b>offer for all</b>'") {
		t.Errorf("diff: %d\n%s%s", code, out, errs)
	}
	// The whole output, pinned: every line of the file's document replaced
	// by the PUT's, under labels naming each version.
	label := func(v string) (string, []string) {
		code, b := adminDo(t, "GET", admin+"/v1/campaigns/history/"+v, "")
		var e struct {
			Version, By, Document string
			Time                  time.Time
		}
		if code != 200 || json.Unmarshal([]byte(b), &e) != nil {
			t.Fatalf("version %s: %d %s", v, code, b)
		}
		return fmt.Sprintf("version %s (by %s at %s)", e.Version, e.By, e.Time.Format(time.RFC3339)), strings.Split(strings.TrimSuffix(e.Document, "\n"), "\n")
	}
	la, da := label(file)
	lb, db := label(newest)
	want := fmt.Sprintf("--- %s\n+++ %s\n@@ -1,%d +1,%d @@\n", la, lb, len(da), len(db))
	for _, l := range da {
		want += "-" + l + "\n"
	}
	for _, l := range db {
		want += "+" + l + "\n"
	}
	if out != want {
		t.Errorf("diff output:\n%s\nwant:\n%s", out, want)
	}
	// The console shows the node's diff: the same text.
	code, b := adminDo(t, "GET", admin+"/v1/campaigns/diff?from="+file+"&to="+newest, "")
	var served struct{ Diff string }
	if code != 200 || json.Unmarshal([]byte(b), &served) != nil || served.Diff != out {
		t.Errorf("GET /v1/campaigns/diff: %d %s\nwant the command's output:\n%s", code, b, out)
	}
	code, out, errs = cli("rollback", file)
	if code != 0 || !strings.Contains(out, "rolled back to version 0") {
		t.Fatalf("rollback: %d %s%s", code, out, errs)
	}
	if _, body := get(t, http.DefaultClient, n.proxyURL()+"/", ""); strings.Contains(body, "offer for all") {
		t.Error("the rolled-back campaign is still served")
	}
	if _, out, _ := cli("history"); !strings.Contains(strings.Split(out, "\n")[1], " rollback ") {
		t.Errorf("history after rollback:\n%s", out)
	}

	for _, tt := range []struct {
		args []string
		code int
		err  string
	}{
		{[]string{"rollback", "12345"}, 1, "not_found"},
		{[]string{"rollback", "v1"}, 1, "not a version number"},
		{[]string{"diff", "0"}, 2, "Usage"},
		{[]string{"undo"}, 2, "Usage"},
	} {
		if code, _, errs := cli(tt.args...); code != tt.code || !strings.Contains(errs, tt.err) {
			t.Errorf("%v: exit %d, stderr %q; want %d with %q", tt.args, code, errs, tt.code, tt.err)
		}
	}
	var out2, errb bytes.Buffer
	if code := run([]string{"campaigns", "history", "-admin", admin}, &out2, &errb); code != 1 || !strings.Contains(errb.String(), "answered 401: give the token with -token TOKEN or MARQUEE_ADMIN_TOKEN=TOKEN") {
		t.Errorf("without a token: exit %d %q", code, errb.String())
	}
}
