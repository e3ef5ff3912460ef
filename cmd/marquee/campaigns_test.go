package main

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
)

func TestUnifiedDiff(t *testing.T) {
	a := "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\n"
	b := "a\nb\nc\nD\ne\nf\ng\nh\ni\nj\nk\n"
	want := `--- A
+++ B
@@ -1,10 +1,11 @@
 a
 b
 c
-d
+D
 e
 f
 g
 h
 i
 j
+k
`
	if got := unifiedDiff("A", "B", a, b); got != want {
		t.Errorf("diff:\n%s\nwant:\n%s", got, want)
	}
	far := "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n"
	got := unifiedDiff("A", "B", far, strings.Replace(strings.Replace(far, "2\n", "two\n", 1), "11\n", "", 1))
	if strings.Count(got, "@@ -") != 2 || !strings.Contains(got, "@@ -1,5 +1,5 @@\n 1\n-2\n+two\n") || !strings.Contains(got, "@@ -8,5 +8,4 @@\n 8\n 9\n 10\n-11\n 12\n") {
		t.Errorf("two hunks expected:\n%s", got)
	}
	if got := unifiedDiff("A", "B", a, a); got != "" {
		t.Errorf("equal documents: %q", got)
	}
	if got := unifiedDiff("A", "B", "", "x\n"); got != "--- A\n+++ B\n@@ -0,0 +1,1 @@\n+x\n" {
		t.Errorf("from empty: %q", got)
	}
}

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
