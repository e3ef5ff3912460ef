//go:build !race

package proxy

import (
	"testing"

	"github.com/valyala/fasthttp"
)

// TestHotPathAllocations fails when the header and negotiation helpers on
// the request path allocate. Not built with -race, which allocates itself.
func TestHotPathAllocations(t *testing.T) {
	var src, dst fasthttp.ResponseHeader
	src.SetContentType("text/html; charset=utf-8")
	src.Set("Cache-Control", "public, max-age=60, s-maxage=300")
	src.Set("Vary", "Origin")
	src.Set("ETag", `"v1"`)
	src.Set("Connection", "X-Hop")
	src.Set("X-Hop", "1")
	src.Add("Set-Cookie", "a=1")
	scratch := make([]byte, 0, 1024)
	ae := []byte("gzip, deflate, br;q=0.9, zstd")
	tests := []struct {
		name string
		f    func()
	}{
		{"copyResponseHeader exact", func() { dst.Reset(); scratch = copyResponseHeader(&dst, &src, modeExact, scratch) }},
		{"copyResponseHeader rewritten", func() { dst.Reset(); scratch = copyResponseHeader(&dst, &src, modeRewritten, scratch) }},
		{"negotiate", func() { _ = negotiate(ae) }},
		{"isHTML", func() { _ = isHTML(src.ContentType()) }},
	}
	for _, tt := range tests {
		tt.f() // warm reused buffers
		if n := testing.AllocsPerRun(100, tt.f); n != 0 {
			t.Errorf("%s: %v allocs per run, want 0", tt.name, n)
		}
	}
}
