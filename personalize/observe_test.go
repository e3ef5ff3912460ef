package personalize

import (
	"context"
	"testing"

	msync "github.com/marquee-proxy/marquee/sync"
)

func TestPagePatternMatch(t *testing.T) {
	tests := []struct {
		pattern, path string
		ok            bool
		cat, prod     string
	}{
		{"/c/{category}", "/c/electronics", true, "electronics", ""},
		{"/c/{category}", "/c/electronics/", true, "electronics", ""},
		{"/c/{category}", "/c/", false, "", ""},
		{"/c/{category}", "/c/a/b", false, "", ""},
		{"/c/{category}", "/d/electronics", false, "", ""},
		{"/shop/{category}/{product}", "/shop/audio/earbuds", true, "audio", "earbuds"},
		{"/p/{product}", "/p", false, "", ""},
		{"/p/{product}", "p/x", false, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.pattern+" "+tt.path, func(t *testing.T) {
			pp := compilePattern(TrackPage{Path: tt.pattern})
			cat, prod, ok := pp.match([]byte(tt.path))
			if ok != tt.ok || string(cat) != tt.cat || string(prod) != tt.prod {
				t.Errorf("got %v %q %q, want %v %q %q", ok, cat, prod, tt.ok, tt.cat, tt.prod)
			}
		})
	}
}

var eventHeaderCases = []struct {
	in   string
	ok   bool
	want msync.Event
}{
	{"view; category=electronics", true, msync.Event{Type: msync.EventView, Category: "electronics"}},
	{"add_to_cart; product=aero-earbuds; value=79", true, msync.Event{Type: msync.EventAddToCart, Product: "aero-earbuds", Value: 79}},
	{"purchase;value=12.5;currency=EUR;id=o-1", true, msync.Event{Type: msync.EventPurchase, Value: 12.5, Currency: "EUR", ID: "o-1"}},
	{"dance", false, msync.Event{}},
	{"view; category", false, msync.Event{}},
	{"view; colour=red", false, msync.Event{}},
	{"purchase; value=lots", false, msync.Event{}},
}

func TestParseEventHeader(t *testing.T) {
	for _, tt := range eventHeaderCases {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseEventHeader(tt.in)
			if (err == nil) != tt.ok {
				t.Fatalf("error: got %v, want ok=%v", err, tt.ok)
			}
			if tt.ok && (got.Type != tt.want.Type || got.Category != tt.want.Category || got.Product != tt.want.Product || got.Value != tt.want.Value || got.Currency != tt.want.Currency || got.ID != tt.want.ID) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func FuzzParseEventHeader(f *testing.F) {
	for _, tt := range eventHeaderCases {
		f.Add(tt.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ParseEventHeader(s)
	})
}

// newTestTracker returns a Tracker configured by o on a new in-memory
// store, both closed when the test ends.
func newTestTracker(tb testing.TB, o TrackerOptions) (*Tracker, *msync.Store) {
	tb.Helper()
	st, err := msync.Open(msync.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	o.Store = st
	tr, err := NewTracker(o)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = tr.Close(context.Background()) })
	return tr, st
}

func TestTrackerReadYourWrites(t *testing.T) {
	tr, st := newTestTracker(t, TrackerOptions{Workers: 2})
	vid := []byte("AAAAAAAAAAAAAAAAAAAAAA")
	for i := range 50 {
		tr.enqueue(&jobFields{visitor: vid, event: true, typ: msync.EventView, category: []byte("x")})
		tr.Wait(vid)
		p, _ := st.GetBytes(vid)
		if p == nil || p.Views["x"][0].Count != int32(i+1) {
			t.Fatalf("after view %d and Wait: %+v", i+1, p)
		}
	}
}
