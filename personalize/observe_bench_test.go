package personalize

import "testing"

// BenchmarkObserve is the request path's cost of tracking one product page
// view: wait for nothing pending, match the path, read the category header,
// enqueue. The store work happens on the tracker's workers.
func BenchmarkObserve(b *testing.B) {
	tr, _ := newTestTracker(b, TrackerOptions{Queue: 1 << 20, Pages: []TrackPage{
		{Path: "/c/{category}"},
		{Path: "/p/{product}", CategoryHeader: "X-Demo-Category"},
	}})
	rc := testRC(nil, nil, map[string]string{"X-Demo-Category": "electronics"})
	rc.URI().SetPath("/p/aero-earbuds")
	vid := []byte("AAAAAAAAAAAAAAAAAAAAAA")
	other := []byte("BBBBBBBBBBBBBBBBBBBBBB") // a visitor with nothing pending
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		tr.Wait(other)
		tr.Observe(rc, vid, nil)
	}
}
