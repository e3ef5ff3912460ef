package sync

import (
	"slices"
	"testing"
	"time"

	"github.com/marquee-proxy/marquee/profile"
)

// TestEraseBoundary pins which events an erasure drops: one dated at or
// before the erasure's time (millisecond resolution) is stale, one dated a
// millisecond later is applied and starts a fresh profile holding only
// itself.
func TestEraseBoundary(t *testing.T) {
	tests := []struct {
		name   string
		erase  time.Duration // of the erasure from t0
		offset time.Duration // of the event from the erasure
		status EventStatus
	}{
		{"a millisecond before", 0, -time.Millisecond, EventRejected},
		{"at the erasure's time", 0, 0, EventRejected},
		{"a millisecond after", 0, time.Millisecond, EventAccepted},
		// A tombstone keeps its time to the millisecond: the erasure wins
		// its whole millisecond, never an event written before it.
		{"earlier in the erasure's millisecond", 500 * time.Microsecond, -300 * time.Microsecond, EventRejected},
		{"later in the erasure's millisecond", 500 * time.Microsecond, 300 * time.Microsecond, EventRejected},
		{"the next millisecond", 500 * time.Microsecond, 500 * time.Microsecond, EventAccepted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := t0.Add(tt.erase)
			s := openAt(t, "", &now)
			if r := s.ApplyEvent(view("before", "v1", "books", t0.Add(-time.Hour))); r.Status != EventAccepted {
				t.Fatalf("event before the erasure: %s %v", r.Status, r.Err)
			}
			if err := s.Erase("v1"); err != nil {
				t.Fatal(err)
			}
			if erased := s.ErasedAt("v1"); !erased.Equal(t0) {
				t.Fatalf("erased at %v, want %v", erased, t0)
			}
			erased := t0.Add(tt.erase)
			now = t0.Add(time.Minute)
			r := s.ApplyEvent(view("probe", "v1", "garden", erased.Add(tt.offset)))
			if r.Status != tt.status {
				t.Fatalf("event %v from the erasure: got %s (%v), want %s", tt.offset, r.Status, r.Err, tt.status)
			}
			p, err := s.Get("v1")
			if err != nil {
				t.Fatal(err)
			}
			if tt.status == EventRejected {
				if fe, ok := r.Err.(*FieldError); !ok || fe.Field != "ts" || fe.Code != CodeStale {
					t.Errorf("error: got %#v, want a stale ts", r.Err)
				}
				if p != nil {
					t.Errorf("a stale event brought the profile back: %+v", p)
				}
				return
			}
			day := DayIndex(erased, time.UTC)
			if p == nil || len(p.Views) != 1 || !slices.Equal(p.Views["garden"], []profile.DayCount{{Day: day, Count: 1}}) {
				t.Errorf("profile after the erasure: got %+v, want only one garden view", p)
			}
		})
	}
}

// TestDedupWindowExpires checks that an event id is a duplicate for
// DedupWindow and applies again once the window has passed. The window
// runs on the wall clock (the store's TTL), so the test sleeps.
func TestDedupWindowExpires(t *testing.T) {
	const window = time.Second
	now := t0
	s, err := Open(Options{Node: "n1", Now: func() time.Time { return now }, Events: EventRules{DedupWindow: window}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	steps := []struct {
		name   string
		wait   time.Duration // before the step, since the first apply
		status EventStatus
		views  int32
	}{
		{"first", 0, EventAccepted, 1},
		{"retry within the window", window / 4, EventDuplicate, 1},
		{"after the window", window + 300*time.Millisecond, EventAccepted, 2},
	}
	var start time.Time
	for i, st := range steps {
		if i == 0 {
			start = time.Now()
		} else {
			time.Sleep(time.Until(start.Add(st.wait)))
		}
		r := s.ApplyEvent(view("same-id", "v1", "books", t0))
		if st.status == EventDuplicate && time.Since(start) >= window {
			t.Logf("%s: ran %v after the first apply, past the window; not checked", st.name, time.Since(start))
			continue
		}
		if r.Status != st.status {
			t.Errorf("%s: got %s (%v), want %s", st.name, r.Status, r.Err, st.status)
		}
		p, _ := s.Get("v1")
		if got := p.Views["books"]; len(got) != 1 || got[0].Count != st.views {
			t.Errorf("%s: books views %v, want %d", st.name, got, st.views)
		}
	}
}

// TestDigestSeparatesNodes checks that two stores holding id x at the same
// version but written by different nodes have different digests, so that
// anti-entropy finds and settles the tie (Newer breaks it by node), while
// identical copies give identical digests.
func TestDigestSeparatesNodes(t *testing.T) {
	v := profile.VersionAt(t0)
	tests := []struct {
		name         string
		nodeA, nodeB string
		equal        bool
	}{
		{"same version, different nodes", "a", "b", false},
		{"same version, same node", "a", "a", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := mustOpen(t, Options{Node: "a"})
			b := mustOpen(t, Options{Node: "b"})
			for _, c := range []struct {
				s    *Store
				node string
			}{{a, tt.nodeA}, {b, tt.nodeB}} {
				p := &profile.Profile{ID: "x", Sessions: 1, Version: v, Node: c.node}
				if ok, err := c.s.MergeRemote(p); !ok || err != nil {
					t.Fatalf("MergeRemote: %v %v", ok, err)
				}
				es, err := c.s.Entries(wantAll(64), 0)
				if err != nil || len(es) != 1 || es[0].Version != v || es[0].Node != c.node {
					t.Fatalf("entries: %+v %v, want x at %d by %s", es, err, v, c.node)
				}
			}
			// The digest kept up to date by writes, and one scanned.
			for _, n := range []int{DefaultDigestBuckets, 64} {
				da, err := a.Digest(n, 0)
				if err != nil {
					t.Fatal(err)
				}
				db, err := b.Digest(n, 0)
				if err != nil {
					t.Fatal(err)
				}
				if got := slices.Equal(da, db); got != tt.equal {
					t.Errorf("%d buckets: digests equal %v, want %v", n, got, tt.equal)
				}
			}
		})
	}
}
