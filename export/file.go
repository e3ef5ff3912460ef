package export

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/marquee-proxy/marquee/internal/durable"
)

// FileOptions configures the daily NDJSON files.
type FileOptions struct {
	// Dir holds the files, exposures-YYYY-MM-DD.ndjson, one per day in
	// Location, created 0600 (the directory 0700). Required.
	Dir string
	// Location is the time zone whose midnight starts a new file. Nil
	// means UTC.
	Location *time.Location
	// Retention is how many days of files are kept, today's included;
	// older ones are removed when a file is opened. Zero keeps every file.
	Retention int
	// NoSync skips the fsync after each write: a record then counts as
	// delivered once the OS has it, and a power loss may lose the last
	// seconds. By default a batch counts only once it is on disk.
	NoSync bool
	// Wait is how long records are gathered into one write and fsync.
	// Zero means one second.
	Wait time.Duration
}

// filePrefix and fileSuffix frame a file's day.
const (
	filePrefix = "exposures-"
	fileSuffix = ".ndjson"
	dayLayout  = "2006-01-02"
)

// fileOutput appends batches to the file of the day they are written in:
// a file is complete once its day is over, so a loader may take
// yesterday's file at any time after midnight.
type fileOutput struct {
	opts FileOptions
	now  func() time.Time
	f    *os.File
	day  string // the open file's day
}

func newFileOutput(o FileOptions, now func() time.Time) (*fileOutput, error) {
	if o.Dir == "" {
		return nil, errors.New("export: file sink needs a directory")
	}
	if o.Location == nil {
		o.Location = time.UTC
	}
	if o.Wait <= 0 {
		o.Wait = time.Second
	}
	if err := os.MkdirAll(o.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	return &fileOutput{opts: o, now: now}, nil
}

func (o *fileOutput) policy() policy {
	// A file takes everything gathered in one write and one fsync.
	return policy{name: "file", wait: o.opts.Wait, minBackoff: 500 * time.Millisecond, maxBackoff: 30 * time.Second}
}

// send appends every record to today's file and fsyncs it. A failed
// write is cut off again, so that a retry never leaves half a line.
func (o *fileOutput) send(_ context.Context, b *batch, from int) (int, error) {
	if err := o.open(o.now().In(o.opts.Location).Format(dayLayout)); err != nil {
		return 0, err
	}
	st, err := o.f.Stat()
	if err != nil {
		return 0, fmt.Errorf("export: %w", err)
	}
	_, err = o.f.Write(b.span(from, len(b.recs)))
	if err == nil && !o.opts.NoSync {
		err = o.f.Sync()
	}
	if err != nil {
		if terr := o.f.Truncate(st.Size()); terr != nil {
			// Unknown state: a fresh handle next time, whose open cuts
			// the half line off (cutTornLine).
			_ = o.f.Close()
			o.f, o.day = nil, ""
		}
		return 0, fmt.Errorf("export: write %s: %w", o.opts.Dir, err)
	}
	return len(b.recs) - from, nil
}

// open makes day's file the open one, creating it, and removes files past
// the retention when it changes.
func (o *fileOutput) open(day string) error {
	if o.f != nil && o.day == day {
		return nil
	}
	path := filepath.Join(o.opts.Dir, filePrefix+day+fileSuffix)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	if err := cutTornLine(f); err != nil {
		f.Close()
		return fmt.Errorf("export: %s: %w", path, err)
	}
	if !o.opts.NoSync {
		// The new name must survive a power loss with the lines in it.
		if err := durable.SyncDir(o.opts.Dir); err != nil {
			f.Close()
			return fmt.Errorf("export: %w", err)
		}
	}
	if o.f != nil {
		_ = o.f.Close()
	}
	o.f, o.day = f, day
	o.prune(day)
	return nil
}

// cutTornLine truncates f after its last newline when it does not end
// with one: the half line a crash or a failed cut-off left there, which
// the next record would otherwise be appended to, both then unreadable.
func cutTornLine(f *os.File) error {
	st, err := f.Stat()
	if err != nil {
		return err
	}
	end := st.Size()
	if end == 0 {
		return nil
	}
	var buf [4096]byte
	for off := end; off > 0; {
		n := min(off, int64(len(buf)))
		off -= n
		if _, err := f.ReadAt(buf[:n], off); err != nil {
			return err
		}
		if off+n == end && buf[n-1] == '\n' {
			return nil // whole lines only
		}
		if i := bytes.LastIndexByte(buf[:n], '\n'); i >= 0 {
			return f.Truncate(off + int64(i) + 1)
		}
	}
	return f.Truncate(0)
}

// prune removes the files of days more than Retention days before today.
// Names are compared as dates: YYYY-MM-DD sorts as it counts.
func (o *fileOutput) prune(today string) {
	if o.opts.Retention <= 0 {
		return
	}
	t, err := time.Parse(dayLayout, today)
	if err != nil {
		return
	}
	oldest := t.AddDate(0, 0, 1-o.opts.Retention).Format(dayLayout)
	_ = filepath.WalkDir(o.opts.Dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.IsDir() {
			if path != o.opts.Dir {
				return filepath.SkipDir
			}
			return nil
		}
		day, ok := strings.CutPrefix(d.Name(), filePrefix)
		if day, ok2 := strings.CutSuffix(day, fileSuffix); ok && ok2 && len(day) == len(dayLayout) && day < oldest {
			if _, err := time.Parse(dayLayout, day); err == nil {
				_ = os.Remove(path)
			}
		}
		return nil
	})
}

func (o *fileOutput) close() error {
	if o.f == nil {
		return nil
	}
	err := o.f.Close()
	o.f = nil
	return err
}
