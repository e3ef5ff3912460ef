package proxy

import (
	"io"
	"log/slog"
	"testing"

	"github.com/marquee-proxy/marquee/internal/proxytest"

	"github.com/valyala/fasthttp"
)

// benchEnv is an origin and a proxy, both on in-memory listeners, and a
// client for each.
type benchEnv struct {
	client *fasthttp.HostClient
	direct *fasthttp.HostClient
}

func newBenchEnv(b *testing.B, page []byte, contentEncoding string, rw Rewriter) *benchEnv {
	b.Helper()
	dial, direct := proxytest.InmemoryOrigin(b, proxytest.PageHandler(page, contentEncoding))
	s, err := New(Options{
		Origins:  []string{"http://origin.test"},
		Dial:     dial,
		Rewriter: rw,
		Logger:   slog.New(slog.DiscardHandler),
	})
	if err != nil {
		b.Fatal(err)
	}
	return &benchEnv{client: proxytest.ServeInmemory(b, s), direct: direct}
}

func (e *benchEnv) run(b *testing.B, c *fasthttp.HostClient, acceptEncoding string, wantLen int) {
	b.ReportAllocs()
	b.SetBytes(int64(wantLen))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		req := fasthttp.AcquireRequest()
		resp := fasthttp.AcquireResponse()
		defer fasthttp.ReleaseRequest(req)
		defer fasthttp.ReleaseResponse(resp)
		req.SetRequestURI("http://shop.test/listing")
		if acceptEncoding != "" {
			req.Header.Set(fasthttp.HeaderAcceptEncoding, acceptEncoding)
		}
		for pb.Next() {
			if err := c.Do(req, resp); err != nil {
				b.Error(err)
				return
			}
			if resp.StatusCode() != 200 || (wantLen > 0 && len(resp.Body()) != wantLen) {
				b.Errorf("status %d, %d bytes", resp.StatusCode(), len(resp.Body()))
				return
			}
		}
	})
}

// BenchmarkProxyListing61k measures a GET of the 61 KB listing page through
// the proxy, in process: "direct" is the baseline without the proxy,
// "passthrough" the proxy with no rewrite stage, "identity" the rewrite
// stage on with an identity rewrite (read, copy, private headers, no
// compression), "unslotted" the stage on with a page it leaves alone.
func BenchmarkProxyListing61k(b *testing.B) {
	page := proxytest.BenchPage(b)
	b.Run("direct", func(b *testing.B) {
		e := newBenchEnv(b, page, "", nil)
		e.run(b, e.direct, "", len(page))
	})
	b.Run("passthrough", func(b *testing.B) {
		e := newBenchEnv(b, page, "", nil)
		e.run(b, e.client, "", len(page))
	})
	b.Run("unslotted", func(b *testing.B) {
		e := newBenchEnv(b, page, "", ReplaceRewriter{Marker: []byte("no-such-marker")})
		e.run(b, e.client, "", len(page))
	})
	b.Run("identity", func(b *testing.B) {
		e := newBenchEnv(b, page, "", IdentityRewriter{})
		e.run(b, e.client, "", len(page))
	})
}

// BenchmarkProxyListing61kCompressed measures the compressed paths: a gzip
// origin passed through, and the identity rewrite re-encoded per request
// for gzip and br clients (the per-request compression cost).
func BenchmarkProxyListing61kCompressed(b *testing.B) {
	page := proxytest.BenchPage(b)
	gz := gzipBytes(b, page)
	b.Run("passthrough-gzip", func(b *testing.B) {
		e := newBenchEnv(b, gz, "gzip", nil)
		e.run(b, e.client, "gzip", len(gz))
	})
	b.Run("identity-gzip-origin-gzip-client", func(b *testing.B) {
		e := newBenchEnv(b, gz, "gzip", IdentityRewriter{})
		e.run(b, e.client, "gzip", 0)
	})
	b.Run("identity-plain-origin-br-client", func(b *testing.B) {
		e := newBenchEnv(b, page, "", IdentityRewriter{})
		e.run(b, e.client, "br", 0)
	})
}

// BenchmarkEncode measures compressing the listing page at the default
// levels and the alternatives, to justify the defaults.
func BenchmarkEncode(b *testing.B) {
	page := proxytest.BenchPage(b)
	for _, c := range []struct {
		name  string
		enc   coding
		level int
	}{
		{"gzip-1", codingGzip, 1}, {"gzip-2", codingGzip, 2}, {"gzip-3", codingGzip, 3}, {"gzip-5", codingGzip, 5}, {"gzip-6", codingGzip, 6},
		{"br-0", codingBrotli, 0}, {"br-1", codingBrotli, 1}, {"br-2", codingBrotli, 2}, {"br-3", codingBrotli, 3}, {"br-4", codingBrotli, 4}, {"br-5", codingBrotli, 5},
	} {
		b.Run(c.name, func(b *testing.B) {
			e := &encoders{gzipLevel: c.level, brotliQuality: c.level}
			var n int
			cw := &countWriter{}
			b.ReportAllocs()
			b.SetBytes(int64(len(page)))
			for b.Loop() {
				cw.n = 0
				if err := e.encode(cw, c.enc, page); err != nil {
					b.Fatal(err)
				}
				n = cw.n
			}
			b.ReportMetric(float64(n), "out-bytes")
		})
	}
}

type countWriter struct{ n int }

func (w *countWriter) Write(p []byte) (int, error) { w.n += len(p); return len(p), nil }

var _ io.Writer = (*countWriter)(nil)
