package admin

import (
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/marquee-proxy/marquee/internal/apierror"
	msync "github.com/marquee-proxy/marquee/sync"
)

// fillDisk makes every later write to the file at path, open in this
// process, fail with ENOSPC as on a full disk: /dev/full takes the place
// of its descriptor.
func fillDisk(t *testing.T, path string) {
	t.Helper()
	full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Skipf("no /dev/full: %v", err)
	}
	defer full.Close()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd: %v", err)
	}
	n := 0
	for _, e := range ents {
		if target, err := os.Readlink("/proc/self/fd/" + e.Name()); err != nil || target != path {
			continue
		}
		fd, _ := strconv.Atoi(e.Name())
		if err := syscall.Dup3(int(full.Fd()), fd, 0); err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n == 0 {
		t.Fatalf("%s is not open", path)
	}
}

// A write that fails for want of disk space answers 507 with the common
// error shape.
func TestDiskFull(t *testing.T) {
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	srv, st := newAdminNode(t, msync.Options{Dir: dir}, Options{})
	if code, body := call(t, srv, "PUT", "/v1/profiles/v0", "", `{"attrs":{"tier":"gold"}}`); code != http.StatusOK {
		t.Fatalf("PUT before: got %d %v", code, body)
	}
	fillDisk(t, filepath.Join(dir, "profiles.db"))

	now := time.Now().UTC().Format(time.RFC3339)
	for _, c := range []struct{ method, path, body string }{
		{"PUT", "/v1/profiles/v1", `{"attrs":{"tier":"gold"}}`},
		{"DELETE", "/v1/profiles/v0", ""},
		{"POST", "/v1/events", `[{"id":"e1","type":"view","visitor":"v1","category":"x","ts":"` + now + `"}]`},
	} {
		code, body := call(t, srv, c.method, c.path, "", c.body)
		if code != http.StatusInsufficientStorage || errField(body, "code") != apierror.CodeInsufficientStorage {
			t.Errorf("%s %s: got %d %v, want 507 %s", c.method, c.path, code, body, apierror.CodeInsufficientStorage)
		}
	}
	if p, err := st.Get("v1"); err != nil || p != nil {
		t.Errorf("v1 after a failed PUT: %+v, %v", p, err)
	}
}
