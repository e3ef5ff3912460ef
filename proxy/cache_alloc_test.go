//go:build !race

package proxy_test

import (
	"testing"

	"github.com/valyala/fasthttp"
)

// TestCacheHitAllocations bounds the allocations of serving the
// personalised listing page from the edge cache through the handler. Most
// of what remains belongs to the personaliser (the decision's profile
// look-up and the write queue's record of the exposure), not to the cache.
func TestCacheHitAllocations(t *testing.T) {
	env := newHandlerEnv(t, true)
	for _, ae := range []string{"", "gzip"} {
		var ctx fasthttp.RequestCtx
		env.request(&ctx, ae)
		env.serve(t, &ctx) // the miss that stores it
		env.serve(t, &ctx) // warms pooled buffers
		n := testing.AllocsPerRun(200, func() { env.serve(t, &ctx) })
		t.Logf("Accept-Encoding %q: %v allocs per hit", ae, n)
		if n > 12 {
			t.Errorf("Accept-Encoding %q: %v allocs per hit, want at most 12", ae, n)
		}
	}
}
