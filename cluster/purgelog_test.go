package cluster

import (
	"slices"
	"testing"
	"time"

	"github.com/marquee-proxy/marquee/cache"
)

func logged(node string, at time.Time) loggedPurge {
	return loggedPurge{ID: purgeID{node, uint64(at.UnixNano())}, Purge: cache.Purge{URLs: []string{"/a"}, At: at}}
}

func TestPurgeLogAdd(t *testing.T) {
	now := time.Now()
	hour := time.Hour
	tests := []struct {
		name      string
		count     int
		kept      []loggedPurge
		add       loggedPurge
		size      int
		wantAdded bool
		wantIDs   []string // nodes of the ids kept, oldest first
	}{
		{name: "new", count: 4, add: logged("a", now), wantAdded: true, wantIDs: []string{"a"}},
		{name: "duplicate", count: 4, kept: []loggedPurge{logged("a", now)}, add: logged("a", now), wantIDs: []string{"a"}},
		{name: "same stamp, other node", count: 4, kept: []loggedPurge{logged("a", now)}, add: logged("b", now), wantAdded: true, wantIDs: []string{"a", "b"}},
		{name: "past retention", count: 4, add: logged("a", now.Add(-25*hour))},
		{name: "as far in the future", count: 4, add: logged("a", now.Add(25*hour))},
		{name: "full: oldest evicted", count: 2, kept: []loggedPurge{logged("a", now.Add(-2*hour)), logged("b", now.Add(-hour))}, add: logged("c", now), wantAdded: true, wantIDs: []string{"b", "c"}},
		{name: "full of newer: refused", count: 2, kept: []loggedPurge{logged("a", now.Add(-hour)), logged("b", now)}, add: logged("c", now.Add(-2*hour)), wantIDs: []string{"a", "b"}},
		{name: "kept in stamp order", count: 4, kept: []loggedPurge{logged("a", now.Add(-2*hour)), logged("b", now)}, add: logged("c", now.Add(-hour)), wantAdded: true, wantIDs: []string{"a", "c", "b"}},
		{name: "over the byte bound", count: 4, add: logged("a", now), size: 2 << 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newPurgeLog(tt.count, 1<<20, 24*hour)
			for _, k := range tt.kept {
				if !l.add(k, 10, now) {
					t.Fatalf("setup: %+v not added", k.ID)
				}
			}
			size := tt.size
			if size == 0 {
				size = 10
			}
			if got := l.add(tt.add, size, now); got != tt.wantAdded {
				t.Errorf("add: got %v, want %v", got, tt.wantAdded)
			}
			var got []string
			for _, id := range l.ids(now) {
				got = append(got, id.Node)
			}
			if !slices.Equal(got, tt.wantIDs) {
				t.Errorf("kept %q, want %q", got, tt.wantIDs)
			}
		})
	}
}

// Two logs holding the same purges, received in any order, have the same
// summary; a log missing one is told it by missing.
func TestPurgeLogSummaryAndMissing(t *testing.T) {
	now := time.Now()
	ps := []loggedPurge{logged("a", now.Add(-3*time.Minute)), logged("b", now.Add(-2*time.Minute)), logged("c", now.Add(-time.Minute))}
	x, y := newPurgeLog(10, 1<<20, time.Hour), newPurgeLog(10, 1<<20, time.Hour)
	for i := range ps {
		x.add(ps[i], 10, now)
		y.add(ps[len(ps)-1-i], 10, now)
	}
	nx, sx := x.summary(now)
	ny, sy := y.summary(now)
	if nx != 3 || nx != ny || sx != sy {
		t.Errorf("summaries differ: %d %x and %d %x", nx, sx, ny, sy)
	}
	z := newPurgeLog(10, 1<<20, time.Hour)
	z.add(ps[1], 10, now)
	if n, s := z.summary(now); n == nx || s == sx {
		t.Errorf("a log with one of three purges sums as the full one: %d %x", n, s)
	}
	miss := x.missing(z.ids(now), now)
	if len(miss) != 2 || miss[0].ID != ps[0].ID || miss[1].ID != ps[2].ID {
		t.Errorf("missing: got %+v", miss)
	}
	// An hour later every purge has expired: the logs agree on nothing.
	later := now.Add(time.Hour)
	if n, s := x.summary(later); n != 0 || s != 0 {
		t.Errorf("after the retention: %d purges, sum %x", n, s)
	}
}

func TestPurgeLogIssueNeverRepeats(t *testing.T) {
	l := newPurgeLog(10, 1<<20, time.Hour)
	now := time.Now()
	a, b := l.issue(now), l.issue(now)
	c := l.issue(now.Add(-time.Second)) // the clock stepped back
	if b <= a || c <= b {
		t.Errorf("stamps %d %d %d, want strictly increasing", a, b, c)
	}
}
