package inject

import (
	"testing"

	"github.com/klauspost/compress/gzip"
)

// listingPlan returns the shared listing page, its plan and three offers.
func listingPlan(b *testing.B) ([]byte, *Plan, [][]byte) {
	body := readShared(b, "pages/listing-61k.html")
	c, _ := NewCompiler(nil, testOptions)
	p, err := c.Plan(body, "text/html; charset=utf-8")
	if err != nil || p.NumSlots() != 3 {
		b.Fatalf("plan: %v, %d slots", err, p.NumSlots())
	}
	return body, p, listingOffers(3)
}

type discardWriter struct{ n int }

func (w *discardWriter) Write(p []byte) (int, error) { w.n += len(p); return len(p), nil }

// BenchmarkGzipPerRequest is the baseline: splice, then gzip the whole page
// at level 1, as the proxy does without stitching.
func BenchmarkGzipPerRequest(b *testing.B) {
	body, p, offers := listingPlan(b)
	buf := make([]byte, 0, 2*len(body))
	w := &discardWriter{}
	zw, _ := gzip.NewWriterLevel(w, 1)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		buf = p.AppendSplice(buf[:0], body, offers)
		w.n = 0
		zw.Reset(w)
		_, _ = zw.Write(buf)
		_ = zw.Close()
	}
	b.ReportMetric(float64(w.n), "out-bytes")
}

// BenchmarkGzipStitched stitches the same output from the page's parts,
// compressed once, and the three offers, compressed per request.
func BenchmarkGzipStitched(b *testing.B) {
	body, p, offers := listingPlan(b)
	g, _ := NewGzipSplicer(GzipOptions{Level: 1})
	buf := make([]byte, 0, 2*len(body))
	g.AppendSplice(buf[:0], p, body, offers) // the first use only counts
	if _, ok := g.AppendSplice(buf[:0], p, body, offers); !ok {
		b.Fatal("not stitched")
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		buf, _ = g.AppendSplice(buf[:0], p, body, offers)
	}
	b.ReportMetric(float64(len(buf)), "out-bytes")
}

// BenchmarkGzipPrecompress is the one-off cost of compressing a plan's
// static parts, paid on the plan's second use.
func BenchmarkGzipPrecompress(b *testing.B) {
	body, p, offers := listingPlan(b)
	g, _ := NewGzipSplicer(GzipOptions{Level: 1, MinUses: 1})
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		// A fresh copy of the cached plan has no parts yet.
		q := &Plan{slots: p.slots, charset: p.charset, ncr: p.ncr, size: p.size, src: p.src}
		if _, ok := g.AppendSplice(nil, q, body, offers); !ok {
			b.Fatal("not stitched")
		}
	}
}
