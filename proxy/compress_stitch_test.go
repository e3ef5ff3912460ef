package proxy

import (
	"bytes"
	"compress/gzip"
	"io"
	"strings"
	"testing"

	"github.com/andybalholm/brotli"
	"github.com/valyala/fasthttp"

	msync "github.com/marquee-proxy/marquee/sync"
)

// TestPersonalizeGzipStitched checks that gzip clients of a cached page get
// the stitched stream, that it decodes (CRC and length checked by the
// standard library) to the page identity clients get, and that brotli
// clients still get a per-request brotli body.
func TestPersonalizeGzipStitched(t *testing.T) {
	env := startPersonalized(t, goldConfig, slotPage)
	r0 := env.proxy.get(t, "GET", "/")
	vid := cookieValue(t, r0, "mq_vid")
	if _, err := env.store.Update(vid[:VisitorIDLen], func(p *msync.Profile) error {
		p.Attrs = map[string]any{"tier": "gold", "name": "Zoë"}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	want := strings.Replace(slotPage, `<a href="/sale">Free shipping</a>`, "<b>Hello Zoë, gold offer</b>", 1)
	if got := string(env.proxy.get(t, "GET", "/", "Cookie: mq_vid="+vid).Body()); got != want {
		t.Fatalf("identity body:\n%s\nwant:\n%s", got, want)
	}
	for i := range 4 {
		r := env.proxy.get(t, "GET", "/", "Cookie: mq_vid="+vid, "Accept-Encoding: gzip")
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
	if g := env.proxy.srv.enc.stitch; g == nil || g.HeldBytes() == 0 {
		t.Fatal("no page was precompressed: the stitched path did not run")
	}
	r := env.proxy.get(t, "GET", "/", "Cookie: mq_vid="+vid, "Accept-Encoding: br")
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
	env := startPersonalized(t, goldConfig, slotPage)
	plan, err := env.pers.Snapshot().Compiler.Plan([]byte(slotPage), "text/html")
	if err != nil {
		t.Fatal(err)
	}
	ctx := new(fasthttp.RequestCtx)
	ctx.Request.Header.Set("Accept-Encoding", "gzip")
	rc := &RewriteContext{srv: env.proxy.srv, ctx: ctx, body: []byte(slotPage), Dst: []byte("<!-- -->")}
	for range 3 {
		rc.Dst = rc.Dst[:8]
		rc.Splice(plan, [][]byte{[]byte("x")})
		if rc.encoded != codingIdentity || !rc.Changed || !bytes.HasPrefix(rc.Dst, []byte("<!-- --><!doctype")) {
			t.Fatalf("Splice after bytes: encoded %v, changed %v, %q", rc.encoded, rc.Changed, rc.Dst[:20])
		}
	}
	// The same context with an empty Dst stitches once the plan is known.
	for range 2 {
		rc.Dst, rc.encoded = rc.Dst[:0], codingIdentity
		rc.Splice(plan, [][]byte{[]byte("x")})
	}
	if rc.encoded != codingGzip || !bytes.HasPrefix(rc.Dst, []byte{0x1f, 0x8b}) {
		t.Fatalf("Splice into empty Dst: encoded %v, %q", rc.encoded, rc.Dst[:10])
	}
}
