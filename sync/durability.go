package sync

import (
	"fmt"
	"os"
	"syscall"
	"time"

	"github.com/tidwall/buntdb"
)

// SyncPolicy says when the store file is fsynced. Every committed write
// reaches the operating system before it is acknowledged, so a killed
// process loses nothing; the policy decides what a power loss or kernel
// crash can lose.
type SyncPolicy uint8

// Sync policies.
const (
	// SyncEverySecond fsyncs once a second: a power loss can lose the
	// last second of writes. The default.
	SyncEverySecond SyncPolicy = iota
	// SyncAlways fsyncs every commit before acknowledging it: nothing
	// acknowledged is lost, at the cost of one fsync per write.
	SyncAlways
	// SyncNever leaves flushing to the operating system: a power loss can
	// lose everything not yet written back (typically up to 30 s).
	SyncNever
)

// String returns the policy's config name.
func (p SyncPolicy) String() string {
	switch p {
	case SyncEverySecond:
		return "every_second"
	case SyncAlways:
		return "always"
	case SyncNever:
		return "never"
	}
	return "invalid"
}

// ParseSyncPolicy parses "always", "every_second" or "never".
func ParseSyncPolicy(s string) (SyncPolicy, error) {
	for _, p := range []SyncPolicy{SyncEverySecond, SyncAlways, SyncNever} {
		if p.String() == s {
			return p, nil
		}
	}
	return 0, fmt.Errorf("sync: unknown sync policy %q, want always, every_second or never", s)
}

// configure applies the sync policy and hands shrinking to shrinkLoop.
func configure(db *buntdb.DB, p SyncPolicy) error {
	var cfg buntdb.Config
	if err := db.ReadConfig(&cfg); err != nil {
		return fmt.Errorf("sync: read config: %w", err)
	}
	switch p {
	case SyncAlways:
		cfg.SyncPolicy = buntdb.Always
	case SyncNever:
		cfg.SyncPolicy = buntdb.Never
	default:
		cfg.SyncPolicy = buntdb.EverySecond
	}
	cfg.AutoShrinkDisabled = true
	if err := db.SetConfig(cfg); err != nil {
		return fmt.Errorf("sync: set config: %w", err)
	}
	return nil
}

// ShrinkOptions configures background compaction of the store file, which
// only ever grows between compactions (every write appends).
type ShrinkOptions struct {
	// Ratio compacts when the file is this many times its size after the
	// last compaction (or at open). Zero means 2; negative disables.
	Ratio float64
	// MinSize is the file size below which it is never compacted. Zero
	// means 32 MiB.
	MinSize int64
	// Interval is how often the file size is checked. Zero means 1 minute.
	Interval time.Duration
}

// withDefaults returns o with zero fields set from DefaultShrinkOptions.
func (o ShrinkOptions) withDefaults() ShrinkOptions {
	d := DefaultShrinkOptions()
	if o.Ratio == 0 {
		o.Ratio = d.Ratio
	}
	if o.MinSize <= 0 {
		o.MinSize = d.MinSize
	}
	if o.Interval <= 0 {
		o.Interval = d.Interval
	}
	return o
}

// shrinkLoop compacts the store file when it has grown past the ratio and
// the disk has room for the compacted copy, until Close.
func (s *Store) shrinkLoop(o ShrinkOptions) {
	defer close(s.done)
	if o.Ratio < 0 {
		<-s.stop
		return
	}
	base := fileSize(s.path)
	t := time.NewTicker(o.Interval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
		size := fileSize(s.path)
		if !shouldShrink(size, base, o) {
			continue
		}
		if n, err := s.maybeShrink(size); err == nil && n >= 0 {
			base = n
		}
	}
}

// shouldShrink reports whether a file of size, base after its last
// compaction, is due for one.
func shouldShrink(size, base int64, o ShrinkOptions) bool {
	return size >= o.MinSize && float64(size) > float64(max(base, 1))*o.Ratio
}

// Shrink compacts the store file now, if the disk has room. It returns the
// new size.
func (s *Store) Shrink() (int64, error) { return s.maybeShrink(fileSize(s.path)) }

func (s *Store) maybeShrink(size int64) (int64, error) {
	if s.path == ":memory:" {
		return 0, nil
	}
	s.shrinkMu.Lock()
	defer s.shrinkMu.Unlock()
	if free, err := freeBytes(s.path); err == nil && free < uint64(size) {
		// The compacted copy is written beside the file before it replaces
		// it; at worst it is as large as the file.
		return -1, fmt.Errorf("sync: not compacting %s: %d bytes free, need up to %d", s.path, free, size)
	}
	// buntdb writes the compacted copy to PATH.tmp, created 0666 less the
	// umask, and renames it over the file; created first, it keeps 0600.
	tmp := s.path + ".tmp"
	if err := prepareDataFile(tmp); err != nil {
		return -1, fmt.Errorf("sync: compact: %w", err)
	}
	if err := s.db.Shrink(); err != nil {
		os.Remove(tmp)
		return -1, fmt.Errorf("sync: compact: %w", err)
	}
	return fileSize(s.path), nil
}

// dataFileMode is the mode of the store file: profiles are personal data,
// for this process's user only.
const dataFileMode = 0o600

// prepareDataFile creates path with dataFileMode, or tightens an existing
// file to it, before buntdb opens or writes it: buntdb creates its files
// 0666 less the umask.
func prepareDataFile(path string) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, dataFileMode)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Chmod(dataFileMode)
}

func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// freeBytes is the space available to this process on path's file system.
func freeBytes(path string) (uint64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(path, &st); err != nil {
		return 0, err
	}
	return st.Bavail * uint64(st.Bsize), nil
}
