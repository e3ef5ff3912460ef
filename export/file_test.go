package export

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestFileRotatesAtMidnightInZone(t *testing.T) {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Skip("no tz data:", err)
	}
	dir := filepath.Join(t.TempDir(), "exports")
	// 22:59:59 UTC is 23:59:59 in Paris on 7 December.
	c := newClock(time.Date(2026, 12, 7, 22, 59, 59, 0, time.UTC))
	e, err := New(Options{Now: c.now, File: &FileOptions{Dir: dir, Location: paris, Wait: time.Millisecond, Retention: 2}})
	if err != nil {
		t.Fatal(err)
	}
	// Files of the retention's past: one kept, one removed, one not ours.
	for _, name := range []string{"exposures-2026-12-05.ndjson", "exposures-2026-12-06.ndjson", "notes.txt"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("{}\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	record(e, 3, c.now())
	waitFor(t, "the first day's records", func() bool { return count(e.m.records, "file") == 3 })
	c.add(2 * time.Second) // past midnight in Paris
	record(e, 2, c.now())
	if err := e.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}

	names := []string{}
	entries, _ := os.ReadDir(dir)
	for _, de := range entries {
		names = append(names, de.Name())
	}
	want := []string{"exposures-2026-12-07.ndjson", "exposures-2026-12-08.ndjson", "notes.txt"}
	if !slices.Equal(names, want) {
		t.Errorf("files %q, want %q", names, want)
	}
	for name, n := range map[string]int{"exposures-2026-12-07.ndjson": 3, "exposures-2026-12-08.ndjson": 2} {
		path := filepath.Join(dir, name)
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := len(parseLines(t, raw)); got != n {
			t.Errorf("%s: %d records, want %d", name, got, n)
		}
		if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, want 0600", name, st.Mode().Perm())
		}
	}
	if st, _ := os.Stat(dir); st.Mode().Perm() != 0o700 {
		t.Errorf("dir mode %v, want 0700", st.Mode().Perm())
	}
}

func TestFileRetriesWhenItCannotWrite(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "exports")
	e, err := New(Options{File: &FileOptions{Dir: dir, Wait: time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	// A file where the directory was: no day's file can be opened.
	if err := os.Remove(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	record(e, 4, time.Now())
	waitFor(t, "a failed attempt", func() bool { return count(e.m.retries, "file") > 0 })
	if err := os.Remove(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := e.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := count(e.m.records, "file"); got != 4 {
		t.Errorf("records_total %d, want 4", got)
	}
}

// A file left with a torn last line (a crash mid-write) is cut back to
// its last whole line before anything is appended: the next record must
// not be glued to the half line.
func TestFileCutsTornLastLine(t *testing.T) {
	for _, tc := range []struct{ name, seed, keep string }{
		{"torn-after-lines", "{\"a\":1}\n{\"b\":2}\n{\"event_id\":\"torn", "{\"a\":1}\n{\"b\":2}\n"},
		{"torn-only", "{\"event_id\":\"torn", ""},
		{"whole", "{\"a\":1}\n", "{\"a\":1}\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			c := newClock(time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC))
			path := filepath.Join(dir, "exposures-2026-12-07.ndjson")
			if err := os.WriteFile(path, []byte(tc.seed), 0o600); err != nil {
				t.Fatal(err)
			}
			e, err := New(Options{Now: c.now, File: &FileOptions{Dir: dir, Wait: time.Millisecond}})
			if err != nil {
				t.Fatal(err)
			}
			record(e, 2, c.now())
			if err := e.Shutdown(context.Background()); err != nil {
				t.Fatal(err)
			}
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			got, ok := strings.CutPrefix(string(raw), tc.keep)
			if !ok {
				t.Fatalf("file %q does not start with the whole lines %q", raw, tc.keep)
			}
			if n := len(parseLines(t, []byte(got))); n != 2 {
				t.Errorf("%d records after the kept lines, want 2", n)
			}
		})
	}
}
