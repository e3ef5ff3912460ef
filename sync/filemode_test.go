package sync

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/marquee-proxy/marquee/profile"
)

// The store's files are 0600 and a data directory it creates 0700,
// whatever the umask, also after a compaction and for a file that was
// looser before.
func TestDataFileModes(t *testing.T) {
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	mode := func(path string, want os.FileMode) {
		t.Helper()
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("%s: mode %#o, want %#o", filepath.Base(path), got, want)
		}
	}
	dir := filepath.Join(t.TempDir(), "new", "data")
	s, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Update("v1", func(p *profile.Profile) error { p.Attrs = map[string]any{"a": "b"}; return nil }); err != nil {
		t.Fatal(err)
	}
	mode(dir, 0o700)
	mode(filepath.Join(dir, "LOCK"), 0o600)
	mode(filepath.Join(dir, "profiles.db"), 0o600)
	if _, err := s.Shrink(); err != nil {
		t.Fatal(err)
	}
	mode(filepath.Join(dir, "profiles.db"), 0o600)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	if err := os.Chmod(filepath.Join(dir, "profiles.db"), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err = Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	mode(filepath.Join(dir, "profiles.db"), 0o600)
}
