package personalize

import (
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/marquee-proxy/marquee/config"
	"github.com/marquee-proxy/marquee/proxy"
)

const benchPhoneUA = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"

// newContextRequest returns a page request from a phone, and the context
// sources of a configuration without geo.
func newContextRequest(tb testing.TB) (*proxy.RewriteContext, *contextSources) {
	tb.Helper()
	cfg, err := config.Parse("t.yaml", []byte("origin: http://o:1\n"))
	if err != nil {
		tb.Fatal(err)
	}
	var errs config.Errors
	src := compileContextSources(cfg, nil, &errs)
	if len(errs) > 0 {
		tb.Fatal(errs)
	}
	ctx := &fasthttp.RequestCtx{}
	ctx.Request.Header.SetUserAgent(benchPhoneUA)
	ctx.Request.Header.SetReferer("https://www.google.com/")
	ctx.Request.SetRequestURI("http://shop.test/listing?utm_source=newsletter")
	return proxy.NewRewriteContext(ctx, nil, nil), src
}

// BenchmarkRequestContext is what a decision whose expressions read the
// device, path and a query parameter adds to a request, its User-Agent
// cached.
func BenchmarkRequestContext(b *testing.B) {
	rc, src := newContextRequest(b)
	var c requestContext
	b.ReportAllocs()
	for b.Loop() {
		c.forPage(src, rc)
		_ = c.Device()
		_ = c.Request()
		_ = c.Query("utm_source")
	}
}
