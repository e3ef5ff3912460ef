package sync

import (
	"slices"
	"testing"
	"time"
)

func TestRawVersion(t *testing.T) {
	p := &Profile{ID: "a", Attrs: map[string]any{"version": "x", "node": "y"}, Caps: map[string][]NodeDayCount{"c": {{Day: 1, Node: "other", Count: 2}}},
		Version: 123456789, Node: "edge1", Updated: time.Unix(5, 0)}
	data, err := p.marshal()
	if err != nil {
		t.Fatal(err)
	}
	v, node := rawVersion(string(data))
	if v != p.Version || node != "edge1" {
		t.Errorf("got %d %q, want %d %q", v, node, p.Version, "edge1")
	}
}

func TestNewer(t *testing.T) {
	tests := []struct {
		v    Version
		node string
		cur  Version
		curN string
		want bool
	}{
		{2, "a", 1, "z", true},
		{1, "z", 2, "a", false},
		{5, "b", 5, "a", true},
		{5, "a", 5, "b", false},
		{5, "a", 5, "a", false},
	}
	for _, tt := range tests {
		if got := Newer(tt.v, tt.node, tt.cur, tt.curN); got != tt.want {
			t.Errorf("Newer(%d %q, %d %q) = %v, want %v", tt.v, tt.node, tt.cur, tt.curN, got, tt.want)
		}
	}
}

func TestDigestFollowsMerges(t *testing.T) {
	a, _ := Open(Options{Node: "a"})
	defer a.Close()
	b, _ := Open(Options{Node: "b"})
	defer b.Close()
	p, err := a.Update("x", func(p *Profile) error { p.Sessions = 1; return nil })
	if err != nil {
		t.Fatal(err)
	}
	da, _ := a.Digest(64, 0)
	db, _ := b.Digest(64, 0)
	if slices.Equal(da, db) {
		t.Fatal("digests equal before the merge")
	}
	if ok, err := b.MergeRemote(p); !ok || err != nil {
		t.Fatalf("MergeRemote: %v %v", ok, err)
	}
	db, _ = b.Digest(64, 0)
	if !slices.Equal(da, db) {
		t.Fatal("digests differ after the merge")
	}
	es, _ := b.Entries(wantAll(64), 0)
	if len(es) != 1 || es[0].ID != "x" || es[0].Version != p.Version || es[0].Node != "a" {
		t.Errorf("got entries %+v", es)
	}
}

func wantAll(n int) []bool {
	w := make([]bool, n)
	for i := range w {
		w[i] = true
	}
	return w
}

// An erasure removes every copy first written before it, even one a node
// changed after the erasure without having heard of it.
func TestTombstoneBeatsStaleEdits(t *testing.T) {
	a, _ := Open(Options{Node: "a"})
	defer a.Close()
	b, _ := Open(Options{Node: "b"})
	defer b.Close()
	p, _ := a.Update("x", func(p *Profile) error { p.Attrs = map[string]any{"secret": 1}; return nil })
	b.MergeRemote(p)
	if err := a.Erase("x"); err != nil {
		t.Fatal(err)
	}
	tv := a.Tombstone("x")
	// b, not told yet, edits its copy after the erasure.
	stale, _ := b.Update("x", func(p *Profile) error { p.Sessions++; return nil })
	if stale.Version <= tv {
		t.Fatalf("edit at %d not after erasure at %d", stale.Version, tv)
	}
	if ok, _ := b.MergeTombstone("x", tv); !ok {
		t.Fatal("tombstone not recorded")
	}
	if got, _ := b.Get("x"); got != nil {
		t.Errorf("stale copy survived the erasure: %+v", got)
	}
	if ok, _ := a.MergeRemote(stale); ok {
		t.Errorf("stale copy accepted after the erasure")
	}
	// A profile born after the erasure is kept.
	fresh, _ := a.Update("x", func(p *Profile) error { p.Sessions = 1; return nil })
	if ok, _ := b.MergeRemote(fresh); !ok {
		t.Errorf("fresh profile refused")
	}
	if n, err := a.CollectTombstones(VersionAt(time.Now().Add(time.Hour))); err != nil || n != 1 {
		t.Errorf("CollectTombstones: %d, %v; want 1", n, err)
	}
}

func TestOnChange(t *testing.T) {
	var got []Change
	s, _ := Open(Options{Node: "a", OnChange: func(c Change) { got = append(got, c) }})
	defer s.Close()
	s.Update("x", func(p *Profile) error { return nil })
	s.Erase("x")
	other, _ := Open(Options{Node: "b"})
	defer other.Close()
	p, _ := other.Update("y", func(p *Profile) error { return nil })
	s.MergeRemote(p)
	if len(got) != 2 || got[0].Profile == nil || got[1].Erased == 0 {
		t.Errorf("got changes %+v, want a write then an erasure (and nothing for the merge)", got)
	}
}
