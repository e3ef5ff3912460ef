package personalize_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"strings"
	"testing"

	"github.com/andybalholm/brotli"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/marquee-proxy/marquee/personalize"
	"github.com/marquee-proxy/marquee/profile"
)

// TestPersonalizeGzipStitched checks that gzip clients of a personalised
// page get the stream stitched from parts compressed once, that it decodes
// (CRC and length checked by the standard library) to the page identity
// clients get, and that brotli clients still get a brotli body.
func TestPersonalizeGzipStitched(t *testing.T) {
	env := startPersonalized(t, goldConfig, slotPage)
	vid := cookieValue(t, env.Proxy.Get(t, "GET", "/"), "mq_vid")
	if _, err := env.Store.Update(vid[:personalize.VisitorIDLen], func(p *profile.Profile) error {
		p.Attrs = map[string]any{"tier": "gold", "name": "Zoë"}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	want := strings.Replace(slotPage, `<a href="/sale">Free shipping</a>`, "<b>Hello Zoë, gold offer</b>", 1)
	if got := string(env.Proxy.Get(t, "GET", "/", "Cookie: mq_vid="+vid).Body()); got != want {
		t.Fatalf("identity body:\n%s\nwant:\n%s", got, want)
	}
	for i := range 4 {
		r := env.Proxy.Get(t, "GET", "/", "Cookie: mq_vid="+vid, "Accept-Encoding: gzip")
		if ce := string(r.Header.Peek("Content-Encoding")); ce != "gzip" {
			t.Fatalf("request %d: Content-Encoding %q, want gzip", i, ce)
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
	// The first gzip request compiles the static parts; the next ones
	// are stitched.
	stitched := `
# HELP marquee_proxy_gzip_stitched_total Rewritten pages sent as gzip stitched from parts compressed once (RewriteContext.Splice) instead of compressed per request.
# TYPE marquee_proxy_gzip_stitched_total counter
marquee_proxy_gzip_stitched_total 3
`
	if err := testutil.GatherAndCompare(env.Server.Gatherer(), strings.NewReader(stitched), "marquee_proxy_gzip_stitched_total"); err != nil {
		t.Fatalf("the personaliser did not splice through RewriteContext.Splice: %v", err)
	}
	r := env.Proxy.Get(t, "GET", "/", "Cookie: mq_vid="+vid, "Accept-Encoding: br")
	if ce := string(r.Header.Peek("Content-Encoding")); ce != "br" {
		t.Fatalf("Content-Encoding %q, want br", ce)
	}
	if got, err := io.ReadAll(brotli.NewReader(bytes.NewReader(r.Body()))); err != nil || string(got) != want {
		t.Fatalf("brotli decoded %q, %v", got, err)
	}
}
