package opstate

import (
	"os"
	"path/filepath"

	"github.com/marquee-proxy/marquee/internal/durable"
)

// WriteFile replaces the file at path with data so that a crash at any
// moment leaves either the old content or the new, never a torn file: it
// writes a temporary file in the same directory with mode 0600, syncs it,
// renames it over path and syncs the directory.
func WriteFile(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			os.Remove(tmp)
		}
	}()
	if err = f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err = f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err = f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp, path); err != nil {
		return err
	}
	return durable.SyncDir(dir)
}
