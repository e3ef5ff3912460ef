package proxy

import (
	"testing"

	"github.com/marquee-proxy/marquee/internal/proxytest"
	"github.com/valyala/fasthttp"
)

// noStitch wraps a rewrite stage and turns stitching off for its server,
// for the per-request compression baseline.
type noStitch struct{ Rewriter }

func (n noStitch) Rewrite(rc *RewriteContext) error {
	rc.srv.enc.stitchOnce.Do(func() {})
	return n.Rewriter.Rewrite(rc)
}

// listingOffers fill the three slots of the listing page.
var listingOffers = []string{
	`<div class="banner"><h2>Welcome back, Visitor 1</h2></div>`,
	`<p class="offer">Free shipping for you, Visitor 1</p>`,
	`<ul><li>Lyon picks</li></ul>`,
}

// BenchmarkSpliceListing61kGzip compares, in one run, the listing page
// from a gzip origin spliced for gzip clients, compressed per request (the
// baseline) and stitched from parts compressed once. The in-process
// client, proxy and origin share the CPU, so ns/op is whole-system cost.
func BenchmarkSpliceListing61kGzip(b *testing.B) {
	page := proxytest.BenchPage(b)
	gz := gzipBytes(b, page)
	rw := newSpliceRewriter(b, listingOffers...)
	for _, bc := range []struct {
		name string
		rw   Rewriter
	}{{"per-request", noStitch{rw}}, {"stitched", rw}} {
		b.Run(bc.name, func(b *testing.B) {
			e := newBenchEnv(b, gz, "gzip", bc.rw)
			e.run(b, e.client, "gzip", 0)
		})
	}
}

// BenchmarkSpliceGzip times the rewrite's output stage alone on the listing
// page with three offers: splice then compress (the baseline) against
// RewriteContext.Splice stitching.
func BenchmarkSpliceGzip(b *testing.B) {
	page := proxytest.BenchPage(b)
	rw := newSpliceRewriter(b, listingOffers...)
	plan, err := rw.compiler.Plan(page, "text/html; charset=utf-8")
	if err != nil || plan.NumSlots() != 3 {
		b.Fatalf("plan: %v, %d slots", err, plan.NumSlots())
	}
	offers := rw.offers
	s := &Server{enc: encoders{gzipLevel: DefaultGzipLevel}}
	ctx := new(fasthttp.RequestCtx)
	ctx.Request.Header.Set(fasthttp.HeaderAcceptEncoding, "gzip")
	b.Run("per-request", func(b *testing.B) {
		w := &countWriter{}
		dst := make([]byte, 0, 2*len(page))
		b.ReportAllocs()
		for b.Loop() {
			dst = plan.AppendSplice(dst[:0], page, offers)
			w.n = 0
			if err := s.enc.encode(w, codingGzip, dst); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(w.n), "out-bytes")
	})
	b.Run("stitched", func(b *testing.B) {
		rc := &RewriteContext{srv: s, ctx: ctx, body: page, Dst: make([]byte, 0, 2*len(page))}
		for range 2 {
			rc.Dst = rc.Dst[:0]
			rc.Splice(plan, offers)
		}
		if rc.encoded != codingGzip {
			b.Fatal("not stitched")
		}
		b.ReportAllocs()
		for b.Loop() {
			rc.Dst = rc.Dst[:0]
			rc.Splice(plan, offers)
		}
		b.ReportMetric(float64(len(rc.Dst)), "out-bytes")
	})
}
