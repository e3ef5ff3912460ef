//go:build !race

package personalize

import "testing"

// The request path's share of tracking: matching a page and checking for a
// pending update allocate nothing.
func TestObserveRequestPathAllocs(t *testing.T) {
	tr, _ := newTestTracker(t, TrackerOptions{})
	pp := compilePattern(TrackPage{Path: "/p/{product}"})
	vid := []byte("AAAAAAAAAAAAAAAAAAAAAA")
	path := []byte("/p/aero-earbuds")
	tests := []struct {
		name string
		fn   func()
	}{
		{"match", func() { pp.match(path) }},
		{"wait with nothing pending", func() { tr.Wait(vid) }},
	}
	for _, tt := range tests {
		if n := testing.AllocsPerRun(100, tt.fn); n != 0 {
			t.Errorf("%s: %v allocations, want 0", tt.name, n)
		}
	}
}

func TestLinkAgainAllocs(t *testing.T) {
	tr, st := newTestTracker(t, TrackerOptions{})
	vid, cust := []byte("AAAAAAAAAAAAAAAAAAAAAA"), []byte("cust-1")
	tr.Link(vid, cust)
	tr.Wait(vid)
	if a, _ := st.AliasOf(string(vid)); a != "cust-1" {
		t.Fatalf("alias: got %q", a)
	}
	if n := testing.AllocsPerRun(100, func() { tr.Link(vid, cust) }); n != 0 {
		t.Errorf("linking a linked pair again: %v allocations, want 0", n)
	}
}
