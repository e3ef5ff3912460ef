package sync

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// ErrLocked is returned by Open when another process holds the data
// directory: buntdb has no file lock of its own, and two writers would
// interleave records in one file.
var ErrLocked = errors.New("sync: data directory is in use by another process")

// fileLock is an exclusive advisory lock (flock) on DIR/LOCK, held for the
// life of a Store.
type fileLock struct{ f *os.File }

func lockDir(dir string) (*fileLock, error) {
	path := filepath.Join(dir, "LOCK")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("sync: lock %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w: %s", ErrLocked, dir)
		}
		return nil, fmt.Errorf("sync: lock %s: %w", path, err)
	}
	return &fileLock{f: f}, nil
}

// release drops the lock; a nil lock is a no-op.
func (l *fileLock) release() {
	if l == nil || l.f == nil {
		return
	}
	syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN)
	l.f.Close()
	l.f = nil
}
