package proxy

import (
	"bytes"
	"compress/gzip"
	"io"
	"strings"
	"testing"

	"github.com/andybalholm/brotli"
	"github.com/valyala/fasthttp"

	"github.com/marquee-proxy/marquee/inject"
	"github.com/marquee-proxy/marquee/internal/proxytest"
)

// spliceRewriter is the smallest stage that splices: every marked slot of
// a page gets the next of offers, through RewriteContext.Splice.
type spliceRewriter struct {
	compiler *inject.Compiler
	offers   [][]byte
}

func newSpliceRewriter(tb testing.TB, offers ...string) *spliceRewriter {
	tb.Helper()
	c, err := inject.NewCompiler(nil, inject.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	r := &spliceRewriter{compiler: c}
	for _, o := range offers {
		r.offers = append(r.offers, []byte(o))
	}
	return r
}

func (r *spliceRewriter) Rewrite(rc *RewriteContext) error {
	plan, err := r.compiler.Plan(rc.Body(), string(rc.ContentType()))
	if err != nil || plan.NumSlots() == 0 {
		return err
	}
	rc.Slotted = true
	rc.Splice(plan, r.offers[:plan.NumSlots()])
	return nil
}

const splicePage = `<!doctype html>
<html><head><meta charset="utf-8"><title>Shop</title></head>
<body>
<div data-marquee-slot="hero"><a href="/sale">Free shipping</a></div>
<p>Products…</p>
<div data-marquee-slot="offer">No offer</div>
</body></html>`

// TestSpliceGzipStitched checks that gzip clients of a page seen before get
// the stitched stream, that it decodes (CRC and length checked by the
// standard library) to the page identity clients get, and that brotli
// clients still get a per-request brotli body.
func TestSpliceGzipStitched(t *testing.T) {
	origin := proxytest.StartOrigin(t, proxytest.PageHandler([]byte(splicePage), ""))
	p := startProxy(t, origin, Options{Rewriter: newSpliceRewriter(t, "<b>Hello Zoë</b>", "")})
	want := strings.Replace(strings.Replace(splicePage, `<a href="/sale">Free shipping</a>`, "<b>Hello Zoë</b>", 1), "No offer", "", 1)
	if got := string(p.Get(t, "GET", "/").Body()); got != want {
		t.Fatalf("identity body:\n%s\nwant:\n%s", got, want)
	}
	for i := range 4 {
		r := p.Get(t, "GET", "/", "Accept-Encoding: gzip")
		if ce := string(r.Header.Peek("Content-Encoding")); ce != "gzip" {
			t.Fatalf("request %d: Content-Encoding %q, want gzip", i, ce)
		}
		if !strings.Contains(string(r.Header.Peek("Vary")), "Accept-Encoding") {
			t.Errorf("request %d: Vary %q lacks Accept-Encoding", i, r.Header.Peek("Vary"))
		}
		zr, err := gzip.NewReader(bytes.NewReader(r.Body()))
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		got, err := io.ReadAll(zr)
		if err != nil || string(got) != want {
			t.Fatalf("request %d: decoded %q, %v; want %q", i, got, err, want)
		}
	}
	if g := p.srv.enc.stitch; g == nil || g.HeldBytes() == 0 {
		t.Fatal("no page was precompressed: the stitched path did not run")
	}
	r := p.Get(t, "GET", "/", "Accept-Encoding: br")
	if ce := string(r.Header.Peek("Content-Encoding")); ce != "br" {
		t.Fatalf("Content-Encoding %q, want br", ce)
	}
	if got, err := io.ReadAll(brotli.NewReader(bytes.NewReader(r.Body()))); err != nil || string(got) != want {
		t.Fatalf("brotli decoded %q, %v", got, err)
	}
}

// TestSpliceNonEmptyDst checks that Splice never stitches after bytes a
// stage already wrote, which a gzip member cannot follow.
func TestSpliceNonEmptyDst(t *testing.T) {
	plan, err := newSpliceRewriter(t).compiler.Plan([]byte(splicePage), "text/html")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{enc: encoders{gzipLevel: DefaultGzipLevel}}
	ctx := new(fasthttp.RequestCtx)
	ctx.Request.Header.Set("Accept-Encoding", "gzip")
	rc := &RewriteContext{srv: s, ctx: ctx, body: []byte(splicePage), Dst: []byte("<!-- -->")}
	offers := [][]byte{[]byte("x"), []byte("y")}
	for range 3 {
		rc.Dst = rc.Dst[:8]
		rc.Splice(plan, offers)
		if rc.encoded != codingIdentity || !rc.Changed || !bytes.HasPrefix(rc.Dst, []byte("<!-- --><!doctype")) {
			t.Fatalf("Splice after bytes: encoded %v, changed %v, %q", rc.encoded, rc.Changed, rc.Dst[:20])
		}
	}
	// The same context with an empty Dst stitches once the plan is known.
	for range 2 {
		rc.Dst, rc.encoded = rc.Dst[:0], codingIdentity
		rc.Splice(plan, offers)
	}
	if rc.encoded != codingGzip || !bytes.HasPrefix(rc.Dst, []byte{0x1f, 0x8b}) {
		t.Fatalf("Splice into empty Dst: encoded %v, %q", rc.encoded, rc.Dst[:10])
	}
}
