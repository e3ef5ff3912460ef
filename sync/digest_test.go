package sync

import (
	"fmt"
	"math/rand/v2"
	"slices"
	stdsync "sync"
	"sync/atomic"
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

// A scan visits every key once, in order, across chunk boundaries, and
// sees the same digest whatever the chunk size.
func TestScanInChunks(t *testing.T) {
	s, _ := Open(Options{Node: "a"})
	defer s.Close()
	const n = 100
	for i := range n {
		s.Update(fmt.Sprintf("v%03d", i), func(p *Profile) error { p.Sessions = i; return nil })
	}
	if err := s.Erase("v007"); err != nil {
		t.Fatal(err)
	}
	whole, _ := s.Digest(16, 0)
	for _, chunk := range []int{1, 3, 99, 100, 1000} {
		s.chunk = chunk
		var ids []string
		s.ascendPrefix(keyPrefix, func(k, _ string) { ids = append(ids, k[len(keyPrefix):]) })
		if len(ids) != n-1 || !slices.IsSorted(ids) || slices.Contains(ids, "v007") {
			t.Errorf("chunk %d: visited %d ids: %v", chunk, len(ids), ids)
		}
		if got, _ := s.Digest(16, 0); !slices.Equal(got, whole) {
			t.Errorf("chunk %d: digest differs from the one read whole", chunk)
		}
		if got, _ := s.Len(); got != n-1 {
			t.Errorf("chunk %d: Len %d", chunk, got)
		}
	}
}

// A write waits for one chunk of a scan, not for the whole scan: the
// read lock is let go between chunks.
func TestScanLetsWritersIn(t *testing.T) {
	s, _ := Open(Options{Node: "a"})
	defer s.Close()
	for i := range 200 {
		s.Update(fmt.Sprintf("v%03d", i), func(p *Profile) error { return nil })
	}
	s.chunk = 2
	var wrote atomic.Bool
	started, seen := false, 0
	s.ascendPrefix(keyPrefix, func(string, string) {
		if !started {
			started = true
			go func() {
				s.Update("new", func(p *Profile) error { return nil })
				wrote.Store(true)
			}()
		}
		for i := 0; i < 10 && !wrote.Load(); i++ {
			time.Sleep(time.Millisecond) // give the writer its chance at the next chunk boundary
		}
		if wrote.Load() {
			seen++
		}
	})
	if seen == 0 {
		t.Fatal("the write waited for the whole scan")
	}
}

// The digest kept up to date by writes equals the one read from the whole
// store after any mix of the operations that write profiles, run from
// several goroutines at once.
func TestLiveDigestMatchesScan(t *testing.T) {
	for seed := range int64(4) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			const n = 32
			s, err := Open(Options{Node: "a", DigestBuckets: n})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			other, _ := Open(Options{Node: "b", DigestBuckets: -1})
			defer other.Close()
			if other.live != nil {
				t.Fatal("DigestBuckets -1 keeps a live digest")
			}
			now := time.Now()
			var wg stdsync.WaitGroup
			for g := range 3 {
				wg.Go(func() {
					r := rand.New(rand.NewPCG(uint64(seed), uint64(g)))
					id := func() string { return fmt.Sprintf("v%d", r.IntN(40)) }
					for i := range 300 {
						switch r.IntN(9) {
						case 0:
							s.Update(id(), func(p *Profile) error { p.Sessions = i; return nil })
						case 1:
							s.Delete(id())
						case 2:
							s.Erase(id())
						case 3:
							if p, _ := other.Update(id(), func(p *Profile) error { p.Sessions = -i; return nil }); p != nil {
								s.MergeRemote(p)
							}
						case 4:
							s.MergeTombstone(id(), s.Clock().Now())
						case 5:
							s.Link(id(), "cust"+id())
						case 6:
							s.ApplyEvents([]Event{{ID: fmt.Sprint(seed, g, i), Type: EventView, Visitor: id(), Category: "shoes", TS: now}})
						case 7:
							s.ImportProfiles([]ProfileRecord{{ID: id(), Attrs: map[string]any{"i": float64(i)}}})
						case 8:
							s.CollectTombstones(s.Clock().Now())
						}
					}
				})
			}
			wg.Wait()
			for _, since := range []Version{0, s.Clock().Now()} {
				live, err := s.Digest(n, since)
				if err != nil {
					t.Fatal(err)
				}
				scanned, _ := s.scanDigest(n, since, true)
				if !slices.Equal(live, scanned) {
					t.Fatalf("since %d: live digest differs from the scan", since)
				}
			}
			if st, _ := s.Len(); st == 0 {
				t.Fatal("no profile left to compare")
			}
		})
	}
}
