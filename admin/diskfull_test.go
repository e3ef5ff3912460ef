package admin

import (
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/marquee-proxy/marquee/internal/apierror"
	"github.com/marquee-proxy/marquee/internal/disktest"
	msync "github.com/marquee-proxy/marquee/sync"
)

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
	disktest.Fill(t, filepath.Join(dir, "profiles.db"))

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
