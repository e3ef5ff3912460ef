package proxy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"sync"
	"testing"

	"github.com/marquee-proxy/marquee/internal/proxytest"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/gzip"
	"github.com/valyala/fasthttp"
)

const testPage = `<!doctype html><html><body><div data-marquee-slot="hero">FALLBACK</div><p>rest of page</p></body></html>`

func gzipBytes(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	_, _ = w.Write(b)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func brotliBytes(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := brotli.NewWriter(&buf)
	_, _ = w.Write(b)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func decodeBody(t testing.TB, enc string, b []byte) []byte {
	t.Helper()
	var r io.Reader
	switch enc {
	case "":
		return b
	case "gzip":
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("client got invalid gzip: %v", err)
		}
		r = zr
	case "br":
		r = brotli.NewReader(bytes.NewReader(b))
	default:
		t.Fatalf("unexpected Content-Encoding %q", enc)
	}
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("decode %s: %v", enc, err)
	}
	return out
}

// pageOrigin serves testPage, encoded as enc, with cacheable headers.
func pageOrigin(t testing.TB, enc, cacheControl string) (url string, raw []byte) {
	t.Helper()
	raw = []byte(testPage)
	switch enc {
	case "gzip":
		raw = gzipBytes(t, raw)
	case "br":
		raw = brotliBytes(t, raw)
	}
	url = proxytest.StartOrigin(t, func(ctx *fasthttp.RequestCtx) {
		ctx.SetContentType("text/html; charset=utf-8")
		if enc != "" {
			ctx.Response.Header.SetContentEncoding(enc)
		}
		ctx.Response.Header.Set("Cache-Control", cacheControl)
		ctx.Response.Header.Set("ETag", `"page-v1"`)
		ctx.Response.Header.Set("Last-Modified", "Mon, 02 Nov 2026 10:00:00 GMT")
		ctx.Response.Header.Set("Vary", "Origin")
		ctx.Response.Header.Add("Set-Cookie", "shop=1; Path=/")
		ctx.SetBody(raw)
	})
	return url, raw
}

var (
	fillSlot  = ReplaceRewriter{Marker: []byte("FALLBACK"), Replacement: []byte("<b>10% off</b>")}
	keepSlot  = ReplaceRewriter{Marker: []byte("FALLBACK")}
	noSlots   = ReplaceRewriter{Marker: []byte("no-such-marker")}
	rewritten = strings.Replace(testPage, "FALLBACK", "<b>10% off</b>", 1)
)

func TestRewriteCompression(t *testing.T) {
	tests := []struct {
		name      string
		originEnc string
		accept    string
		wantEnc   string
	}{
		{"identity to identity", "", "", ""},
		{"gzip origin, gzip client", "gzip", "gzip, deflate", "gzip"},
		{"gzip origin, br client", "gzip", "br", "br"},
		{"gzip origin, gzip and br client", "gzip", "gzip, deflate, br, zstd", "gzip"},
		{"gzip origin, plain client", "gzip", "", ""},
		{"br origin, gzip client", "br", "gzip", "gzip"},
		{"identity origin, q-values", "", "br;q=0.5, gzip;q=0.8", "gzip"},
		{"gzip refused with q=0", "gzip", "gzip;q=0, br;q=0", ""},
		{"star", "", "*", "gzip"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			origin, _ := pageOrigin(t, tt.originEnc, "public, max-age=60")
			p := startProxy(t, origin, Options{Rewriter: fillSlot})
			var hdrs []string
			if tt.accept != "" {
				hdrs = append(hdrs, "Accept-Encoding: "+tt.accept)
			}
			r := p.Get(t, "GET", "/", hdrs...)
			if got := string(r.Header.ContentEncoding()); got != tt.wantEnc {
				t.Fatalf("got Content-Encoding %q, want %q", got, tt.wantEnc)
			}
			if got := string(decodeBody(t, tt.wantEnc, r.Body())); got != rewritten {
				t.Fatalf("got body %q, want %q", got, rewritten)
			}
			if r.Header.ContentLength() != len(r.Body()) {
				t.Fatalf("Content-Length %d for %d body bytes", r.Header.ContentLength(), len(r.Body()))
			}
			vary := string(r.Header.Peek("Vary"))
			for _, want := range []string{"Origin", "Accept-Encoding", "Cookie"} {
				if !strings.Contains(vary, want) {
					t.Errorf("Vary %q lacks %s", vary, want)
				}
			}
		})
	}
}

func TestRewriteCachingHeaders(t *testing.T) {
	tests := []struct {
		name         string
		rw           Rewriter
		cacheControl string
		wantCC       string
		wantBody     string
		exactOrigin  bool // body bytes and caching headers exactly the origin's
	}{
		{"filled slot", fillSlot, "public, max-age=60, s-maxage=300", "private, max-age=60", rewritten, false},
		{"filled slot keeps no-store", fillSlot, "no-store", "private, no-store", rewritten, false},
		{"filled slot keeps no-cache", fillSlot, "public, no-cache", "private, no-cache", rewritten, false},
		{"slot not filled", keepSlot, "public, max-age=60, s-maxage=300", "private, max-age=60", testPage, false},
		{"no slots", noSlots, "public, max-age=60, s-maxage=300", "public, max-age=60, s-maxage=300", testPage, true},
	}
	for _, tt := range tests {
		for _, enc := range []string{"", "gzip"} {
			t.Run(tt.name+"/"+enc, func(t *testing.T) {
				t.Parallel()
				origin, raw := pageOrigin(t, enc, tt.cacheControl)
				p := startProxy(t, origin, Options{Rewriter: tt.rw})
				r := p.Get(t, "GET", "/", "Accept-Encoding: gzip")
				if got := string(r.Header.Peek("Cache-Control")); got != tt.wantCC {
					t.Errorf("got Cache-Control %q, want %q", got, tt.wantCC)
				}
				if got := string(decodeBody(t, string(r.Header.ContentEncoding()), r.Body())); got != tt.wantBody {
					t.Errorf("got body %q, want %q", got, tt.wantBody)
				}
				vary := string(r.Header.Peek("Vary"))
				etag := string(r.Header.Peek("ETag"))
				lastMod := string(r.Header.Peek("Last-Modified"))
				if tt.exactOrigin {
					if !bytes.Equal(r.Body(), raw) {
						t.Errorf("body is not the origin's bytes")
					}
					if vary != "Origin" || etag != `"page-v1"` || lastMod == "" {
						t.Errorf("origin caching headers changed: Vary %q ETag %q Last-Modified %q", vary, etag, lastMod)
					}
					return
				}
				if !strings.Contains(vary, "Cookie") || !strings.Contains(vary, "Origin") {
					t.Errorf("got Vary %q, want Origin and Cookie", vary)
				}
				if etag != "" || lastMod != "" {
					t.Errorf("slotted page kept validators: ETag %q Last-Modified %q", etag, lastMod)
				}
				if tt.wantBody == testPage && !bytes.Equal(r.Body(), raw) {
					t.Errorf("unfilled slot: body is not the origin's exact bytes")
				}
			})
		}
	}
}

// failingRewriter fails the way its mode says.
type failingRewriter struct{ mode string }

func (f failingRewriter) Rewrite(rc *RewriteContext) error {
	rc.Dst = append(rc.Dst, "half-written"...)
	rc.Slotted, rc.Changed = true, true
	rc.AddHeader([]byte("X-Should-Not"), []byte("appear"))
	switch f.mode {
	case "panic":
		panic("slot index corrupted")
	case "nil-deref":
		var m map[string]*int
		return errors.New(string(rune(*m["x"])))
	default:
		return errors.New("decision store unavailable")
	}
}

func TestRewriteFailsOpen(t *testing.T) {
	for _, mode := range []string{"panic", "nil-deref", "error"} {
		for _, enc := range []string{"", "gzip", "br"} {
			t.Run(mode+"/"+enc, func(t *testing.T) {
				t.Parallel()
				origin, raw := pageOrigin(t, enc, "public, max-age=60")
				p := startProxy(t, origin, Options{Rewriter: failingRewriter{mode}})
				before := counterValue(t, p.srv.metrics.rewriteFailures)
				r := p.Get(t, "GET", "/", "Accept-Encoding: gzip, br")
				if r.StatusCode() != 200 {
					t.Fatalf("got status %d", r.StatusCode())
				}
				if !bytes.Equal(r.Body(), raw) {
					t.Fatalf("got %q, want the origin's bytes exactly", r.Body())
				}
				if got := string(r.Header.ContentEncoding()); got != enc {
					t.Errorf("got Content-Encoding %q, want the origin's %q", got, enc)
				}
				for k, want := range map[string]string{"Cache-Control": "public, max-age=60", "ETag": `"page-v1"`, "Vary": "Origin", "X-Should-Not": "", "Set-Cookie": "shop=1; Path=/"} {
					if got := string(r.Header.Peek(k)); got != want {
						t.Errorf("got %s %q, want %q", k, got, want)
					}
				}
				if got := counterValue(t, p.srv.metrics.rewriteFailures) - before; got != 1 {
					t.Errorf("rewrite failures counted %v, want 1", got)
				}
				if logs := p.logs.String(); strings.Count(logs, "serving origin page") != 1 || !strings.Contains(logs, "level=WARN") {
					t.Errorf("want one Warn line, got:\n%s", logs)
				}
			})
		}
	}
}

func TestRewriteCorruptGzipFailsOpen(t *testing.T) {
	bad := []byte("\x1f\x8b\x08\x00garbage that is not deflate")
	origin := proxytest.StartOrigin(t, func(ctx *fasthttp.RequestCtx) {
		ctx.SetContentType("text/html")
		ctx.Response.Header.SetContentEncoding("gzip")
		ctx.SetBody(bad)
	})
	p := startProxy(t, origin, Options{Rewriter: fillSlot})
	r := p.Get(t, "GET", "/", "Accept-Encoding: gzip")
	if !bytes.Equal(r.Body(), bad) || string(r.Header.ContentEncoding()) != "gzip" {
		t.Fatalf("want origin bytes as received, got %q", r.Body())
	}
	if counterValue(t, p.srv.metrics.rewriteFailures) != 1 {
		t.Fatal("decode failure not counted")
	}
}

func TestRewriteNotEligible(t *testing.T) {
	origin := proxytest.StartOrigin(t, func(ctx *fasthttp.RequestCtx) {
		ctx.SetContentType("text/html")
		if string(ctx.Path()) == "/css" {
			ctx.SetContentType("text/css")
		}
		if string(ctx.Path()) == "/range" {
			ctx.Response.Header.Set("Content-Range", "bytes 0-8/100")
		}
		if string(ctx.Path()) == "/deflate" {
			ctx.Response.Header.SetContentEncoding("deflate")
		}
		ctx.SetBodyString("FALLBACK!")
	})
	p := startProxy(t, origin, Options{Rewriter: fillSlot})
	tests := []struct{ method, path string }{
		{"POST", "/"}, {"PUT", "/"}, {"GET", "/css"}, {"GET", "/range"}, {"GET", "/deflate"},
	}
	for _, tt := range tests {
		t.Run(tt.method+tt.path, func(t *testing.T) {
			if r := p.Get(t, tt.method, tt.path); string(r.Body()) != "FALLBACK!" {
				t.Fatalf("got %q, want untouched", r.Body())
			}
		})
	}
}

func TestDecompressionBombPassesThrough(t *testing.T) {
	page := []byte("<html>" + strings.Repeat("FALLBACK", 100000) + "</html>") // ~800 KB
	gz := gzipBytes(t, page)
	origin := proxytest.StartOrigin(t, func(ctx *fasthttp.RequestCtx) {
		ctx.SetContentType("text/html")
		ctx.Response.Header.SetContentEncoding("gzip")
		ctx.SetBody(gz)
	})
	p := startProxy(t, origin, Options{Rewriter: fillSlot, MaxRewriteBody: 64 << 10})
	r := p.Get(t, "GET", "/", "Accept-Encoding: gzip")
	if !bytes.Equal(r.Body(), gz) {
		t.Fatalf("want the compressed origin bytes untouched")
	}
}

// contextRecorder captures what a Rewriter sees through RewriteContext.
type contextRecorder struct {
	mu                     sync.Mutex
	ip                     netip.Addr
	tls                    bool
	cookie, uri, ctype, ua string
}

func (c *contextRecorder) Rewrite(rc *RewriteContext) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ip, c.tls = rc.RemoteIP(), rc.IsTLS()
	c.cookie = string(rc.Cookie("mq_vid"))
	c.uri = string(rc.URI().RequestURI())
	c.ctype = string(rc.ContentType())
	c.ua = string(rc.RequestHeader().UserAgent())
	ck := fasthttp.AcquireCookie()
	defer fasthttp.ReleaseCookie(ck)
	ck.SetKey("mq_vid")
	ck.SetValue("v123")
	ck.SetPath("/")
	rc.SetCookie(ck)
	rc.AddHeader([]byte("X-Marquee"), []byte("hit"))
	rc.AddHeader([]byte("Connection"), []byte("close"))           // hop-by-hop: dropped
	rc.AddHeader([]byte("X-Split"), []byte("a\r\nX-Injected: 1")) // CRLF: dropped
	rc.AddHeader([]byte("Bad Name"), []byte("v"))                 // not a token: dropped
	rc.Dst = append(rc.Dst, rc.Body()...)
	rc.Slotted, rc.Changed = true, true
	return nil
}

func TestRewriteContext(t *testing.T) {
	origin, _ := pageOrigin(t, "", "max-age=10")
	rec := &contextRecorder{}
	p := startProxy(t, origin, Options{
		Rewriter:       rec,
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("10.0.0.0/8")},
	})
	r := p.Get(t, "GET", "/p?q=1", "Cookie: mq_vid=abc; other=1", "User-Agent: tester",
		"X-Forwarded-For: 198.51.100.7, 10.1.2.3", "X-Forwarded-Proto: https")
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if rec.ip != netip.MustParseAddr("198.51.100.7") {
		t.Errorf("got RemoteIP %v, want 198.51.100.7", rec.ip)
	}
	if !rec.tls {
		t.Error("IsTLS false behind a trusted https proxy")
	}
	if rec.cookie != "abc" || rec.uri != "/p?q=1" || rec.ua != "tester" || !strings.HasPrefix(rec.ctype, "text/html") {
		t.Errorf("got cookie %q uri %q ua %q content type %q", rec.cookie, rec.uri, rec.ua, rec.ctype)
	}
	var cookies []string
	for _, v := range r.Header.Cookies() {
		cookies = append(cookies, string(v))
	}
	if len(cookies) != 2 || !strings.Contains(strings.Join(cookies, "|"), "mq_vid=v123") {
		t.Errorf("got Set-Cookie %q, want the origin's and mq_vid", cookies)
	}
	if len(r.Header.Peek("X-Injected")) > 0 || len(r.Header.Peek("X-Split")) > 0 {
		t.Errorf("invalid stage header written")
	}
	if string(r.Header.Peek("X-Marquee")) != "hit" || r.ConnectionClose() {
		t.Errorf("stage headers not applied as expected")
	}
}

// changedOnly sets Changed without Slotted.
type changedOnly struct{}

func (changedOnly) Rewrite(rc *RewriteContext) error {
	rc.Dst = append(rc.Dst, "<p>changed</p>"...)
	rc.Changed = true
	return nil
}

func TestChangedImpliesSlotted(t *testing.T) {
	origin, _ := pageOrigin(t, "", "public, max-age=60")
	p := startProxy(t, origin, Options{Rewriter: changedOnly{}})
	r := p.Get(t, "GET", "/")
	if string(r.Body()) != "<p>changed</p>" {
		t.Fatalf("got %q", r.Body())
	}
	if cc := string(r.Header.Peek("Cache-Control")); cc != "private, max-age=60" || len(r.Header.Peek("ETag")) > 0 {
		t.Fatalf("changed body served cacheable: Cache-Control %q ETag %q", cc, r.Header.Peek("ETag"))
	}
}

// headerRemover removes and adds response headers, as the preview of a
// page in the campaign editor does with the origin's framing rules.
type headerRemover struct{ changed bool }

func (h headerRemover) Rewrite(rc *RewriteContext) error {
	rc.RemoveHeader([]byte("X-Frame-Options"))
	rc.RemoveHeader([]byte("Content-Security-Policy"))
	rc.AddHeader([]byte("Content-Security-Policy"), []byte("frame-ancestors 'self'"))
	rc.AddHeader([]byte("X-Kept"), []byte("stage"))
	rc.RemoveHeader([]byte("Cache-Control")) // the proxy's: ignored
	rc.RemoveHeader([]byte("Set-Cookie"))    // likewise
	rc.RemoveHeader([]byte("Connection"))    // hop-by-hop: ignored
	if h.changed {
		rc.Dst = append(rc.Dst, rc.Body()...)
		rc.Slotted, rc.Changed = true, true
	}
	return nil
}

func TestRewriteContextRemoveHeader(t *testing.T) {
	origin := proxytest.StartOrigin(t, func(ctx *fasthttp.RequestCtx) {
		ctx.SetContentType("text/html; charset=utf-8")
		ctx.Response.Header.Set("Cache-Control", "max-age=10")
		ctx.Response.Header.Set("X-Frame-Options", "DENY")
		ctx.Response.Header.Add("Content-Security-Policy", "frame-ancestors 'none'")
		ctx.Response.Header.Add("Content-Security-Policy", "script-src 'self'")
		ctx.Response.Header.Set("X-Kept", "origin")
		ctx.Response.Header.Add("Set-Cookie", "shop=1; Path=/")
		ctx.SetBodyString(testPage)
	})
	for _, changed := range []bool{false, true} {
		t.Run(fmt.Sprintf("changed=%v", changed), func(t *testing.T) {
			p := startProxy(t, origin, Options{Rewriter: headerRemover{changed: changed}})
			r := p.Get(t, "GET", "/")
			if got := r.Header.PeekAll("X-Frame-Options"); len(got) != 0 {
				t.Errorf("got X-Frame-Options %q, want none", got)
			}
			if got := r.Header.PeekAll("Content-Security-Policy"); len(got) != 1 || string(got[0]) != "frame-ancestors 'self'" {
				t.Errorf("got Content-Security-Policy %q, want only the stage's", got)
			}
			if got := r.Header.PeekAll("X-Kept"); len(got) != 2 {
				t.Errorf("got X-Kept %q, want the origin's and the stage's", got)
			}
			if len(r.Header.Peek("Cache-Control")) == 0 || len(r.Header.PeekAll("Set-Cookie")) == 0 {
				t.Error("a stage removed Cache-Control or Set-Cookie")
			}
		})
	}
}
