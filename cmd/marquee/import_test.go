package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	msync "github.com/marquee-proxy/marquee/sync"
)

const importFile = `{"id":"u1","attrs":{"tier":"gold"},"scores":{"propensity":0.9}}
{"id":"u2","attrs":{"tier":{"nested":true}}}

{"id":"u3","attrs":{"tier":"basic"}}
`

func TestImportOffline(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "profiles.ndjson")
	os.WriteFile(file, []byte(importFile), 0o600)
	data := filepath.Join(dir, "data")
	var out, errb bytes.Buffer
	if code := run([]string{"import", "-offline", "-data-dir", data, file}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s %s", code, out.String(), errb.String())
	}
	if !strings.Contains(out.String(), "imported 2,") || !strings.Contains(out.String(), "rejected 1") {
		t.Errorf("summary: %q", out.String())
	}
	rej, _ := os.ReadFile(file + ".rejects")
	if !strings.HasPrefix(string(rej), "2: ") {
		t.Errorf("rejects file: %q, want line 2", rej)
	}
	// A running node holds the lock: offline import refuses.
	s, err := msync.Open(msync.Options{Dir: data})
	if err != nil {
		t.Fatal(err)
	}
	if p, _ := s.Get("u1"); p == nil || p.Attrs["tier"] != "gold" {
		t.Errorf("imported profile: %+v", p)
	}
	if code := run([]string{"import", "-offline", "-data-dir", data, file}, &out, &errb); code == 0 {
		t.Error("offline import into a store in use succeeded")
	}
	s.Close()
}

func TestImportOnline(t *testing.T) {
	n := startTestNode(t, customerOrigin(), "")
	file := filepath.Join(t.TempDir(), "p.ndjson")
	os.WriteFile(file, []byte(importFile), 0o600)
	var out, errb bytes.Buffer
	if code := run([]string{"import", "-server", n.adminURL(), file}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s %s", code, out.String(), errb.String())
	}
	if p, _ := n.store.Get("u3"); p == nil || p.Attrs["tier"] != "basic" {
		t.Errorf("imported profile: %+v", p)
	}
	if !strings.Contains(out.String(), "rejected 1") {
		t.Errorf("summary: %q", out.String())
	}
}
