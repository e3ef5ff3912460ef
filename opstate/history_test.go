package opstate

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

func put(t *testing.T, h *History, v uint64, by, doc string) Entry {
	t.Helper()
	e, err := h.Put(Entry{Version: v, Time: t0.Add(time.Duration(v) * time.Second), By: by}, []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestHistoryPersistsAndPrunes(t *testing.T) {
	dir := t.TempDir()
	h, err := Open(dir, Options{Limit: 3})
	if err != nil {
		t.Fatal(err)
	}
	for v := uint64(1); v <= 5; v++ {
		put(t, h, v, ByAPI, "doc "+string(rune('0'+v)))
	}
	if _, err := h.Put(Entry{Version: 5}, []byte("x")); !errors.Is(err, ErrStale) {
		t.Errorf("Put of the current version: %v, want ErrStale", err)
	}
	h, err = Open(dir, Options{Limit: 3})
	if err != nil {
		t.Fatal(err)
	}
	var got []uint64
	for _, e := range h.List() {
		got = append(got, e.Version)
	}
	if len(got) != 3 || got[0] != 5 || got[2] != 3 {
		t.Fatalf("versions after reopening %v, want [5 4 3]", got)
	}
	e, doc, ok := h.Current()
	if !ok || e.Version != 5 || string(doc) != "doc 5" || e.By != ByAPI || !e.Time.Equal(t0.Add(5*time.Second)) {
		t.Errorf("current %+v %q", e, doc)
	}
	if _, doc, ok, err := h.Get(4); !ok || err != nil || string(doc) != "doc 4" {
		t.Errorf("Get(4) = %q %v %v", doc, ok, err)
	}
	if _, _, ok, _ := h.Get(1); ok {
		t.Error("Get(1) found a pruned version")
	}
	files, _ := os.ReadDir(filepath.Join(dir, Dir))
	if len(files) != 3 {
		t.Errorf("%d files in the history directory, want 3", len(files))
	}
	for _, f := range files {
		fi, _ := f.Info()
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", f.Name(), fi.Mode().Perm())
		}
	}
}

func TestHistorySkipsDamagedVersions(t *testing.T) {
	dir := t.TempDir()
	h, _ := Open(dir, Options{})
	put(t, h, 1, ByFile, "one")
	put(t, h, 2, ByAPI, "two")
	os.WriteFile(filepath.Join(dir, Dir, nameOf(1)), []byte(`{"entry":{"version":"1","hash":"00"},"doc":"one"}`), 0o600)
	h, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if l := h.List(); len(l) != 1 || l[0].Version != 2 {
		t.Errorf("history %+v, want only version 2", l)
	}
}

func TestHistoryInMemory(t *testing.T) {
	h, err := Open("", Options{Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	put(t, h, 1, ByFile, "a")
	put(t, h, 2, ByAPI, "b")
	put(t, h, 3, ByRollback, "a")
	if _, doc, ok, _ := h.Get(2); !ok || string(doc) != "b" {
		t.Errorf("Get(2) = %q %v", doc, ok)
	}
	if l := h.List(); len(l) != 2 || l[0].Hash != l[1].Hash && l[0].Hash != Hash([]byte("a")) {
		t.Errorf("history %+v", l)
	}
}

// TestStart pins the start-up rule: the file wins when there is nothing
// stored or when it was edited since the node last read it; otherwise the
// stored version, applied after that read, wins.
func TestStart(t *testing.T) {
	tests := []struct {
		name     string
		setup    func(h *History)
		file     string
		fromFile bool
		version  uint64
		reason   string
	}{
		{"empty history", func(h *History) {}, "file v1", true, 0, "no stored version"},
		{"file unchanged, api newer", func(h *History) {
			h.Start([]byte("file v1"), Entry{By: ByFile})
			h.Put(Entry{Version: 10, By: ByAPI}, []byte("api doc"))
		}, "file v1", false, 10, "unchanged"},
		{"file edited after an api change", func(h *History) {
			h.Start([]byte("file v1"), Entry{By: ByFile})
			h.Put(Entry{Version: 10, By: ByAPI}, []byte("api doc"))
		}, "file v2", true, 100, "changed"},
		{"file edited to the stored document", func(h *History) {
			h.Start([]byte("file v1"), Entry{By: ByFile})
			h.Put(Entry{Version: 10, By: ByAPI}, []byte("api doc"))
		}, "api doc", false, 10, "is the config file's document"},
		{"sighup recorded the file", func(h *History) {
			h.Start([]byte("file v1"), Entry{By: ByFile})
			h.Put(Entry{Version: 10, By: BySIGHUP}, []byte("file v2"))
			h.SawFile([]byte("file v2"), t0)
			h.Put(Entry{Version: 20, By: ByAPI}, []byte("api doc"))
		}, "file v2", false, 20, "unchanged"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			h, _ := Open(dir, Options{})
			tt.setup(h)
			h, _ = Open(dir, Options{}) // as a restart would
			c, err := h.Start([]byte(tt.file), Entry{Version: 100, Time: t0, By: ByFile})
			if err != nil {
				t.Fatal(err)
			}
			if c.FromFile != tt.fromFile || c.Entry.Version != tt.version || !strings.Contains(c.Reason, tt.reason) {
				t.Errorf("Start = from file %v, version %d, %q; want %v, %d, reason with %q", c.FromFile, c.Entry.Version, c.Reason, tt.fromFile, tt.version, tt.reason)
			}
			cur, doc, _ := h.Current()
			if cur.Version != c.Entry.Version || string(doc) != string(c.Doc) {
				t.Errorf("current %d %q, chosen %d %q", cur.Version, doc, c.Entry.Version, c.Doc)
			}
			if hash, _ := h.FileSeen(); hash != Hash([]byte(tt.file)) {
				t.Error("Start did not record the file as seen")
			}
		})
	}
}
