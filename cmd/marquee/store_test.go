package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/marquee-proxy/marquee/profile"
	msync "github.com/marquee-proxy/marquee/sync"
)

// A node's store file with a bad byte: check names the offset and exits 1,
// repair keeps the other profiles and moves the original aside, and check
// then finds it clean.
func TestStoreCheckRepair(t *testing.T) {
	dir := t.TempDir()
	s, err := msync.Open(msync.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"alice", "bob", "carol"} {
		if _, err := s.Update(id, func(p *profile.Profile) error { p.Attrs = map[string]any{"name": id}; return nil }); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	path := filepath.Join(dir, "profiles.db")
	data, _ := os.ReadFile(path)
	at := bytes.Index(data, []byte("p:bob"))
	rec := bytes.LastIndex(data[:at], []byte("*"))
	data[rec+1] = '#'
	os.WriteFile(path, data, 0o600)

	var out, errb bytes.Buffer
	if code := run([]string{"store", "check", "-data-dir", dir}, &out, &errb); code != 1 {
		t.Fatalf("check: exit %d, want 1\n%s%s", code, out.String(), errb.String())
	}
	if want := "damaged: byte " + strconv.Itoa(rec) + ":"; !strings.Contains(out.String(), want) {
		t.Errorf("check output does not say %q:\n%s", want, out.String())
	}

	out.Reset()
	if code := run([]string{"store", "repair", "-data-dir", dir}, &out, &errb); code != 0 {
		t.Fatalf("repair: exit %d\n%s%s", code, out.String(), errb.String())
	}
	if !strings.Contains(out.String(), "repaired: kept") || !strings.Contains(out.String(), "profiles.db.damaged-") {
		t.Errorf("repair output:\n%s", out.String())
	}
	out.Reset()
	if code := run([]string{"store", "check", "-data-dir", dir}, &out, &errb); code != 0 || !strings.Contains(out.String(), "clean") {
		t.Fatalf("check after repair: exit %d\n%s%s", code, out.String(), errb.String())
	}
	s, err = msync.Open(msync.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, id := range []string{"alice", "carol"} {
		if p, _ := s.Get(id); p == nil {
			t.Errorf("%s lost by repair", id)
		}
	}
	// The node has the directory now.
	errb.Reset()
	if code := run([]string{"store", "repair", "-data-dir", dir}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "in use") {
		t.Errorf("repair beside a node: exit %d, %s", code, errb.String())
	}
}

func TestStoreUsage(t *testing.T) {
	for _, args := range [][]string{{"store"}, {"store", "fix", "-data-dir", "x"}, {"store", "check"}} {
		var out, errb bytes.Buffer
		if code := run(args, &out, &errb); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
}
