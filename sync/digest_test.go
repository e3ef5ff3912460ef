package sync

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	stdsync "sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/marquee-proxy/marquee/profile"
)

func TestRawVersion(t *testing.T) {
	p := &profile.Profile{ID: "a", Attrs: map[string]any{"version": "x", "node": "y"}, Caps: map[string][]profile.NodeDayCount{"c": {{Day: 1, Node: "other", Count: 2}}},
		Version: 123456789, Node: "edge1", Updated: time.Unix(5, 0)}
	data, err := marshalProfile(p)
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
		v    profile.Version
		node string
		cur  profile.Version
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
	p, err := a.Update("x", func(p *profile.Profile) error { p.Sessions = 1; return nil })
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
	p, _ := a.Update("x", func(p *profile.Profile) error { p.Attrs = map[string]any{"secret": 1}; return nil })
	b.MergeRemote(p)
	if err := a.Erase("x"); err != nil {
		t.Fatal(err)
	}
	tv := a.Tombstone("x")
	// b, not told yet, edits its copy after the erasure.
	stale, _ := b.Update("x", func(p *profile.Profile) error { p.Sessions++; return nil })
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
	fresh, _ := a.Update("x", func(p *profile.Profile) error { p.Sessions = 1; return nil })
	if ok, _ := b.MergeRemote(fresh); !ok {
		t.Errorf("fresh profile refused")
	}
	if n, err := a.CollectTombstones(profile.VersionAt(time.Now().Add(time.Hour))); err != nil || n != 1 {
		t.Errorf("CollectTombstones: %d, %v; want 1", n, err)
	}
}

func TestOnChange(t *testing.T) {
	var got []Change
	s, _ := Open(Options{Node: "a", OnChange: func(c Change) { got = append(got, c) }})
	defer s.Close()
	s.Update("x", func(p *profile.Profile) error { return nil })
	s.Erase("x")
	other, _ := Open(Options{Node: "b"})
	defer other.Close()
	p, _ := other.Update("y", func(p *profile.Profile) error { return nil })
	s.MergeRemote(p)
	if len(got) != 2 || got[0].Profile == nil || got[1].Erased == 0 {
		t.Errorf("got changes %+v, want a write then an erasure (and nothing for the merge)", got)
	}
}

// mustOpen opens a store or fails the test, closing it at the end.
func mustOpen(t *testing.T, o Options) *Store {
	t.Helper()
	s, err := Open(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// A scan visits every key once, in order, across chunk boundaries, and
// sees the same digest whatever the chunk size.
func TestScanInChunks(t *testing.T) {
	s := mustOpen(t, Options{Node: "a", DigestBuckets: -1})
	const n = 100
	var want []string
	for i := range n {
		id := fmt.Sprintf("v%03d", i)
		if _, err := s.Update(id, func(p *profile.Profile) error { p.Sessions = i; return nil }); err != nil {
			t.Fatal(err)
		}
		if i != 7 {
			want = append(want, id)
		}
	}
	if err := s.Erase("v007"); err != nil {
		t.Fatal(err)
	}
	whole, err := s.Digest(16, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, chunk := range []int{0, 1, 3, 99, 100, 1000} {
		s.chunk = chunk
		var ids []string
		if err := s.ascendPrefix(keyPrefix, func(k, _ string) { ids = append(ids, k[len(keyPrefix):]) }); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(ids, want) {
			t.Errorf("chunk %d: visited %v", chunk, ids)
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
	s := mustOpen(t, Options{Node: "a"})
	for i := range 200 {
		if _, err := s.Update(fmt.Sprintf("v%03d", i), func(p *profile.Profile) error { return nil }); err != nil {
			t.Fatal(err)
		}
	}
	s.chunk = 2
	var wrote atomic.Bool
	started, seen := false, 0
	err := s.ascendPrefix(keyPrefix, func(string, string) {
		if !started {
			started = true
			go func() {
				s.Update("new", func(p *profile.Profile) error { return nil })
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
	if err != nil {
		t.Fatal(err)
	}
	if seen == 0 {
		t.Fatal("the write waited for the whole scan")
	}
}

// checkLiveDigest fails the test unless the digest kept by s equals the
// one read from the whole store, for cutoffs before, among and after its
// tombstones.
func checkLiveDigest(t *testing.T, s *Store) {
	t.Helper()
	if s.live == nil {
		t.Fatal("no live digest")
	}
	cutoffs := []profile.Version{0, s.Clock().Now() + 1}
	s.ascendPrefix(tombstonePrefix, func(_, raw string) {
		v, _ := strconv.ParseUint(raw, 10, 64)
		cutoffs = append(cutoffs, profile.Version(v), profile.Version(v)+1)
	})
	for _, since := range cutoffs {
		live, err := s.Digest(s.live.n, since)
		if err != nil {
			t.Fatal(err)
		}
		scanned, err := s.scanDigest(s.live.n, since)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(live, scanned) {
			t.Fatalf("since %d: live digest differs from the scan", since)
		}
	}
}

// randomWrites runs every operation that writes profiles or tombstones,
// at random, from several goroutines at once.
func randomWrites(t *testing.T, s *Store, seed int64, rounds int) {
	t.Helper()
	other := mustOpen(t, Options{Node: "b", DigestBuckets: -1})
	if other.live != nil {
		t.Fatal("DigestBuckets -1 keeps a live digest")
	}
	now := time.Now()
	var wg stdsync.WaitGroup
	for g := range 3 {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(seed), uint64(g)))
			id := func() string { return fmt.Sprintf("v%d", r.IntN(40)) }
			for i := range rounds {
				switch r.IntN(10) {
				case 0:
					s.Update(id(), func(p *profile.Profile) error { p.Sessions = i; return nil })
				case 1:
					s.Delete(id())
				case 2:
					s.Erase(id())
				case 3:
					if p, _ := other.Update(id(), func(p *profile.Profile) error { p.Sessions = -i; return nil }); p != nil {
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
					line := fmt.Sprintf(`{"id":%q,"attrs":{"i":%d}}`+"\n", id(), i)
					s.Import(strings.NewReader(line+line), ImportOptions{})
				case 9:
					if r.IntN(4) == 0 {
						s.CollectTombstones(s.Clock().Now())
					} else {
						s.CollectTombstones(profile.VersionAt(now))
					}
				}
			}
		})
	}
	wg.Wait()
	if n, _ := s.Len(); n == 0 {
		t.Fatal("no profile left to compare")
	}
}

// The digest kept up to date by writes equals the one read from the whole
// store after any mix of the operations that write, run from several
// goroutines at once, and after the store is reopened.
func TestLiveDigestMatchesScan(t *testing.T) {
	for seed := range int64(4) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			dir := t.TempDir()
			s, err := Open(Options{Dir: dir, Node: "a", DigestBuckets: 32})
			if err != nil {
				t.Fatal(err)
			}
			randomWrites(t, s, seed, 300)
			checkLiveDigest(t, s)
			before, _ := s.Digest(32, 0)
			s.Close()
			s = mustOpen(t, Options{Dir: dir, Node: "a", DigestBuckets: 32})
			if after, _ := s.Digest(32, 0); !slices.Equal(after, before) {
				t.Fatal("the digest computed at open differs from the one kept before closing")
			}
			randomWrites(t, s, seed+100, 100)
			checkLiveDigest(t, s)
		})
	}
}

// A batch that fails or panics after writing stores nothing, and the live
// digest does not count what it wrote.
func TestLiveDigestRollback(t *testing.T) {
	s := mustOpen(t, Options{Node: "a", DigestBuckets: 32})
	if _, err := s.Update("kept", func(p *profile.Profile) error { return nil }); err != nil {
		t.Fatal(err)
	}
	raw, _ := marshalProfile(&profile.Profile{ID: "x", Version: 5, Node: "a"})
	failing := errors.New("fails after writing")
	err := s.inBatch([]string{"x", "kept"}, true, func(b *batch) error {
		b.setRaw("x", raw)
		b.remove("kept")
		return failing
	})
	if !errors.Is(err, failing) {
		t.Fatalf("inBatch: %v", err)
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("the panic was swallowed")
			}
		}()
		s.inBatch([]string{"x"}, true, func(b *batch) error {
			b.setRaw("x", raw)
			panic("boom")
		})
	}()
	if p, _ := s.Get("x"); p != nil {
		t.Errorf("a rolled-back write was stored: %+v", p)
	}
	if p, _ := s.Get("kept"); p == nil {
		t.Error("a rolled-back delete was stored")
	}
	checkLiveDigest(t, s)
}
