package proxy

import (
	"testing"

	msync "github.com/marquee-proxy/marquee/sync"
)

// BenchmarkObserve is the request path's cost of tracking one product page
// view: wait for nothing pending, match the path, read the category header,
// enqueue. The store work happens on the tracker's workers.
func BenchmarkObserve(b *testing.B) {
	st, err := msync.Open(msync.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	tr, err := NewTracker(TrackerOptions{Store: st, Queue: 1 << 20, Pages: []TrackPage{
		{Path: "/c/{category}"},
		{Path: "/p/{product}", CategoryHeader: "X-Demo-Category"},
	}})
	if err != nil {
		b.Fatal(err)
	}
	defer tr.Close()
	rc := testRC(nil, nil, map[string]string{"X-Demo-Category": "electronics"})
	rc.ctx.Request.SetRequestURI("/p/aero-earbuds")
	vid := []byte("AAAAAAAAAAAAAAAAAAAAAA")
	other := []byte("BBBBBBBBBBBBBBBBBBBBBB") // a visitor with nothing pending
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		tr.Wait(other)
		tr.Observe(rc, vid, nil)
	}
}
