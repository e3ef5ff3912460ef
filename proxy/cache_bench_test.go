package proxy_test

import (
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/marquee-proxy/marquee/cache"
	"github.com/marquee-proxy/marquee/internal/personalizetest"
	"github.com/marquee-proxy/marquee/internal/proxytest"
	"github.com/marquee-proxy/marquee/personalize"
	"github.com/marquee-proxy/marquee/profile"
	"github.com/marquee-proxy/marquee/proxy"
)

// handlerEnv is a proxy with the personaliser in front of the listing
// page, called through its handler in-process, and a gold visitor's
// cookie.
type handlerEnv struct {
	h      fasthttp.RequestHandler
	cookie string
}

func newHandlerEnv(b testing.TB, cached bool) *handlerEnv {
	b.Helper()
	page := proxytest.BenchPage(b)
	env := personalizetest.Start(b, personalizetest.ListingConfig, string(page), personalize.Options{})
	c := string(env.Pers.Signer().AppendMint(nil))
	if _, err := env.Store.Update(c[:personalize.VisitorIDLen], func(p *profile.Profile) error {
		p.Attrs = map[string]any{"tier": "gold", "name": "Ada"}
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	o := proxy.Options{Origins: []string{env.Origin}, Rewriter: env.Pers, Local: env.Pers}
	if cached {
		o.Cache = &cache.Options{MaxSize: 64 << 20}
	}
	srv, err := proxy.New(o)
	if err != nil {
		b.Fatal(err)
	}
	return &handlerEnv{h: srv.Handler(), cookie: c}
}

// serve runs one request through the handler on ctx, reused.
func (e *handlerEnv) serve(tb testing.TB, ctx *fasthttp.RequestCtx) {
	ctx.Response.Reset()
	e.h(ctx)
	if ctx.Response.StatusCode() != 200 || len(ctx.Response.Body()) == 0 {
		tb.Fatalf("status %d, %d bytes", ctx.Response.StatusCode(), len(ctx.Response.Body()))
	}
	ctx.ResetUserValues() // gives the response's pooled buffer back
}

func (e *handlerEnv) request(ctx *fasthttp.RequestCtx, acceptEncoding string) {
	ctx.Request.SetRequestURI("/listing")
	ctx.Request.Header.SetHost("shop.test")
	ctx.Request.Header.SetCookie("mq_vid", e.cookie)
	if acceptEncoding != "" {
		ctx.Request.Header.Set(fasthttp.HeaderAcceptEncoding, acceptEncoding)
	}
}

// BenchmarkCacheHit serves the personalised listing page (three slots
// filled) from the edge cache through the handler, against the same page
// fetched from the origin on loopback each time (uncached); gzip is the
// stitched encoding browsers get.
//
//	go test -run '^$' -bench 'BenchmarkCacheHit' -benchmem ./proxy
func BenchmarkCacheHit(b *testing.B) {
	for _, bc := range []struct {
		name   string
		cached bool
		ae     string
	}{
		{"cached/identity", true, ""},
		{"cached/gzip", true, "gzip"},
		{"uncached/identity", false, ""},
		{"uncached/gzip", false, "gzip"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			env := newHandlerEnv(b, bc.cached)
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				var ctx fasthttp.RequestCtx
				env.request(&ctx, bc.ae)
				for pb.Next() {
					env.serve(b, &ctx)
				}
			})
		})
	}
}
