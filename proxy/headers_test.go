package proxy

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/marquee-proxy/marquee/internal/proxytest"

	"github.com/valyala/fasthttp"
)

func TestRemoveHopByHop(t *testing.T) {
	tests := []struct {
		name       string
		connection string
		extra      [][2]string
		gone       []string
		kept       []string
	}{
		{"fixed list", "", [][2]string{{"Keep-Alive", "1"}, {"Upgrade", "x"}, {"Te", "trailers"}, {"Proxy-Authorization", "a"}, {"Accept", "*/*"}},
			[]string{"Keep-Alive", "Upgrade", "Te", "Proxy-Authorization"}, []string{"Accept"}},
		{"named in Connection", "X-A, x-b ,keep-alive", [][2]string{{"X-A", "1"}, {"X-B", "2"}, {"X-C", "3"}},
			[]string{"X-A", "X-B", "Connection"}, []string{"X-C"}},
		{"empty elements", ", ,X-A,,", [][2]string{{"X-A", "1"}, {"X-C", "3"}}, []string{"X-A"}, []string{"X-C"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h fasthttp.ResponseHeader
			if tt.connection != "" {
				h.Set("Connection", tt.connection)
			}
			for _, kv := range tt.extra {
				h.Set(kv[0], kv[1])
			}
			removeHopByHop(&h, nil)
			for _, k := range tt.gone {
				if v := h.Peek(k); len(v) > 0 {
					t.Errorf("%s still present: %q", k, v)
				}
			}
			for _, k := range tt.kept {
				if v := h.Peek(k); len(v) == 0 {
					t.Errorf("%s removed", k)
				}
			}
		})
	}
}

func TestCopyResponseHeaderPrivate(t *testing.T) {
	tests := []struct {
		cc, vary         string
		mode             respMode
		wantCC, wantVary string
	}{
		{"", "", modePrivate, "private", "Cookie"},
		{"public, max-age=60, s-maxage=600", "Accept-Encoding", modePrivate, "private, max-age=60", "Accept-Encoding, Cookie"},
		{"no-store", "", modePrivate, "private, no-store", "Cookie"},
		{"no-cache, must-revalidate", "cookie", modePrivate, "private, no-cache, must-revalidate", "cookie"},
		{"PUBLIC, S-MAXAGE=5, private", "*", modePrivate, "private", "*"},
		{`private="Set-Cookie", max-age=5`, "Origin", modePrivate, "private, max-age=5", "Origin, Cookie"},
		{"public", "Origin", modeRewritten, "private", "Origin, Cookie, Accept-Encoding"},
		{"public", "accept-encoding, Cookie", modeRewritten, "private", "accept-encoding, Cookie"},
		{"public, max-age=5", "Origin", modeExact, "public, max-age=5", "Origin"},
	}
	for _, tt := range tests {
		t.Run(tt.mode.String()+"/"+tt.cc, func(t *testing.T) {
			var src, dst fasthttp.ResponseHeader
			if tt.cc != "" {
				src.Set("Cache-Control", tt.cc)
			}
			if tt.vary != "" {
				src.Set("Vary", tt.vary)
			}
			src.Set("ETag", `"x"`)
			src.Set("Last-Modified", "Mon, 02 Nov 2026 10:00:00 GMT")
			src.SetContentEncoding("gzip")
			copyResponseHeader(&dst, &src, tt.mode, nil)
			if got := string(dst.Peek("Cache-Control")); got != tt.wantCC {
				t.Errorf("Cache-Control: got %q, want %q", got, tt.wantCC)
			}
			if got := string(dst.Peek("Vary")); got != tt.wantVary {
				t.Errorf("Vary: got %q, want %q", got, tt.wantVary)
			}
			kept := len(dst.Peek("ETag")) > 0 && len(dst.Peek("Last-Modified")) > 0
			if kept != (tt.mode == modeExact) {
				t.Errorf("validators kept %v in mode %v", kept, tt.mode)
			}
			if hasCE := len(dst.ContentEncoding()) > 0; hasCE != (tt.mode != modeRewritten) {
				t.Errorf("Content-Encoding kept %v in mode %v", hasCE, tt.mode)
			}
		})
	}
}

func TestCopyResponseHeaderKeepsOrder(t *testing.T) {
	var src, dst fasthttp.ResponseHeader
	src.Set("Connection", "X-Hop")
	src.Add("Link", "</a.css>; rel=preload")
	src.Add("Cache-Control", "public")
	src.Add("X-Hop", "1")
	src.Add("Keep-Alive", "timeout=5")
	src.Add("Cache-Control", "max-age=30")
	src.Add("Vary", "Origin")
	src.Add("Link", "</b.js>; rel=preload")
	src.Add("Vary", "Accept-Language")
	src.Add("Set-Cookie", "a=1")
	src.Add("Set-Cookie", "a=2; Path=/x")
	copyResponseHeader(&dst, &src, modePrivate, nil)
	if got, want := string(dst.Peek("Cache-Control")), "private, max-age=30"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if got, want := len(dst.PeekAll("Cache-Control")), 1; got != want {
		t.Errorf("got %d Cache-Control fields, want %d", got, want)
	}
	if got, want := string(dst.Peek("Vary")), "Origin, Accept-Language, Cookie"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	var links []string
	for _, v := range dst.PeekAll("Link") {
		links = append(links, string(v))
	}
	if got, want := strings.Join(links, " | "), "</a.css>; rel=preload | </b.js>; rel=preload"; got != want {
		t.Errorf("Link order: got %q, want %q", got, want)
	}
	if len(dst.Peek("X-Hop")) > 0 || len(dst.Peek("Keep-Alive")) > 0 || len(dst.Peek("Connection")) > 0 {
		t.Errorf("hop-by-hop fields copied:\n%s", dst.String())
	}
	var cookies []string
	for _, v := range dst.Cookies() {
		cookies = append(cookies, string(v))
	}
	if got, want := strings.Join(cookies, " | "), "a=1 | a=2; Path=/x"; got != want {
		t.Errorf("Set-Cookie: got %q, want %q", got, want)
	}
}

func TestClientIP(t *testing.T) {
	s := &Server{trustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")}}
	tests := []struct {
		name string
		peer string
		xff  []string
		want string
	}{
		{"untrusted peer ignores XFF", "203.0.113.1", []string{"1.1.1.1"}, "203.0.113.1"},
		{"trusted peer, one hop", "10.0.0.1", []string{"198.51.100.2"}, "198.51.100.2"},
		{"skips trusted hops", "10.0.0.1", []string{"198.51.100.2, 10.9.9.9"}, "198.51.100.2"},
		{"several fields", "::1", []string{"192.0.2.1", "10.1.1.1"}, "192.0.2.1"},
		{"forged left part ignored", "10.0.0.1", []string{"6.6.6.6, 198.51.100.2"}, "198.51.100.2"},
		{"garbage stops the walk", "10.0.0.1", []string{"nonsense, 10.2.2.2"}, "10.2.2.2"},
		{"all trusted", "10.0.0.1", []string{"10.3.3.3"}, "10.3.3.3"},
		{"no XFF", "10.0.0.1", nil, "10.0.0.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h fasthttp.RequestHeader
			for _, v := range tt.xff {
				h.Add("X-Forwarded-For", v)
			}
			if got := s.clientIP(&h, netip.MustParseAddr(tt.peer)); got.String() != tt.want {
				t.Fatalf("got %v, want %s", got, tt.want)
			}
		})
	}
}

func FuzzCopyResponseHeader(f *testing.F) {
	f.Add("public, max-age=60, s-maxage=300", "Origin, Accept-Encoding", "X-A, close")
	f.Add(",,,", "*", "")
	f.Add(`private="a,b"`, "cookie,,", "keep-alive,,X-B")
	f.Add("max-age=5", "Origin", "Cloudflare-CDN-Cache-Control")
	f.Fuzz(func(t *testing.T, cc, vary, conn string) {
		var src, dst fasthttp.ResponseHeader
		for _, k := range []string{"CDN-Cache-Control", "Surrogate-Control", "Edge-Control", "X-Accel-Expires", "Fastly-CDN-Cache-Control"} {
			src.Set(k, cc)
		}
		src.Set("Cache-Control", cc)
		src.Set("Vary", vary)
		src.Set("Connection", conn)
		src.Set("X-Kept", "1")
		copyResponseHeader(&dst, &src, modeRewritten, nil)
		got := string(dst.Peek("Cache-Control"))
		if !strings.HasPrefix(got, "private") || strings.Contains(strings.ToLower(got), "public") {
			t.Fatalf("Cache-Control %q from %q", got, cc)
		}
		if v := string(dst.Peek("Vary")); v != "*" && !strings.Contains(strings.ToLower(v), "cookie") {
			t.Fatalf("Vary %q from %q", v, vary)
		}
		for k := range dst.All() {
			if isTargetedCacheControl(k) {
				t.Fatalf("%s kept on a rewritten page", k)
			}
		}
	})
}

func TestCopyResponseHeaderDropsTargetedCacheControl(t *testing.T) {
	// Fields that steer a CDN instead of Cache-Control (RFC 9213 and the
	// vendors' older ones) must not survive on a page that depends on the
	// visitor, or a CDN would store it for everyone.
	targeted := []string{
		"CDN-Cache-Control", "cdn-cache-control", "Surrogate-Control", "Cloudflare-CDN-Cache-Control",
		"Akamai-CDN-Cache-Control", "Edge-Control", "X-Accel-Expires",
	}
	kept := []string{"X-CDN-Cache-Controlled", "CDNCache-Control", "Surrogate-Key", "X-Accel-Buffering"}
	for _, mode := range []respMode{modeExact, modePrivate, modeRewritten} {
		t.Run(mode.String(), func(t *testing.T) {
			var src, dst fasthttp.ResponseHeader
			for _, k := range append(append([]string(nil), targeted...), kept...) {
				src.Add(k, "max-age=600")
			}
			copyResponseHeader(&dst, &src, mode, nil)
			for _, k := range targeted {
				if got := len(dst.Peek(k)) > 0; got != (mode == modeExact) {
					t.Errorf("%s present %v, want %v", k, got, mode == modeExact)
				}
			}
			for _, k := range kept {
				if len(dst.Peek(k)) == 0 {
					t.Errorf("%s removed", k)
				}
			}
		})
	}
}

func TestSlottedPageDropsTargetedCacheControl(t *testing.T) {
	origin := proxytest.StartOrigin(t, func(ctx *fasthttp.RequestCtx) {
		ctx.SetContentType("text/html")
		ctx.Response.Header.Set("Cache-Control", "public, max-age=60")
		ctx.Response.Header.Set("CDN-Cache-Control", "max-age=600")
		ctx.Response.Header.Set("Cloudflare-CDN-Cache-Control", "max-age=600")
		ctx.Response.Header.Set("Surrogate-Control", "max-age=600")
		ctx.Response.Header.Set("Edge-Control", "cache-maxage=600s")
		ctx.Response.Header.Set("X-Accel-Expires", "600")
		if string(ctx.Path()) == "/plain" {
			ctx.SetBodyString("<p>no slots</p>")
			return
		}
		ctx.SetBodyString("<p>SLOT</p>")
	})
	tests := []struct {
		name, path  string
		replacement []byte
		wantKept    bool
	}{
		{"slotted, filled", "/page", []byte("offer"), false},
		{"slotted, unfilled", "/page", nil, false},
		{"no slots", "/plain", []byte("offer"), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := startProxy(t, origin, Options{Rewriter: ReplaceRewriter{Marker: []byte("SLOT"), Replacement: tt.replacement}})
			r := p.Get(t, "GET", tt.path)
			for _, k := range []string{"CDN-Cache-Control", "Cloudflare-CDN-Cache-Control", "Surrogate-Control", "Edge-Control", "X-Accel-Expires"} {
				if got := len(r.Header.Peek(k)) > 0; got != tt.wantKept {
					t.Errorf("%s present %v, want %v", k, got, tt.wantKept)
				}
			}
		})
	}
}

func TestConditionalRequests(t *testing.T) {
	// The origin honours validators on every path, answering 304 with public
	// caching and its ETag, as shops and their frameworks do.
	const etag, lastMod = `"v1"`, "Mon, 02 Nov 2026 10:00:00 GMT"
	rec := &recorder{}
	origin := proxytest.StartOrigin(t, rec.handler(func(ctx *fasthttp.RequestCtx) {
		h := &ctx.Response.Header
		h.Set("Cache-Control", "public, max-age=60")
		h.Set("ETag", etag)
		h.Set("Last-Modified", lastMod)
		if string(ctx.Request.Header.Peek("If-None-Match")) == etag ||
			string(ctx.Request.Header.Peek("If-Modified-Since")) == lastMod {
			ctx.SetStatusCode(fasthttp.StatusNotModified)
			return
		}
		switch string(ctx.Path()) {
		case "/app.css":
			ctx.SetContentType("text/css")
			ctx.SetBodyString("body{}")
		case "/plain":
			ctx.SetContentType("text/html")
			ctx.SetBodyString("<p>no slots</p>")
		default:
			ctx.SetContentType("text/html")
			ctx.SetBodyString("<p>SLOT</p>")
		}
	}))
	tests := []struct {
		name, method, path, cond string
		replacement              []byte
		wantStatus               int
		wantBody                 string
	}{
		{"slotted page, If-None-Match", "GET", "/page", "If-None-Match: " + etag, []byte("offer"), 200, "<p>offer</p>"},
		{"slotted page, If-Modified-Since", "GET", "/page", "If-Modified-Since: " + lastMod, []byte("offer"), 200, "<p>offer</p>"},
		{"slotted page, unfilled", "GET", "/page", "If-None-Match: " + etag, nil, 200, "<p>SLOT</p>"},
		{"slotted page, HEAD", "HEAD", "/page", "If-None-Match: " + etag, []byte("offer"), 200, ""},
		{"page without slots", "GET", "/plain", "If-None-Match: " + etag, []byte("offer"), 304, ""},
		{"asset", "GET", "/app.css", "If-None-Match: " + etag, []byte("offer"), 304, ""},
		{"asset, If-Modified-Since", "GET", "/app.css", "If-Modified-Since: " + lastMod, []byte("offer"), 304, ""},
		{"asset, stale validator", "GET", "/app.css", `If-None-Match: "v0"`, []byte("offer"), 200, "body{}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := startProxy(t, origin, Options{Rewriter: ReplaceRewriter{Marker: []byte("SLOT"), Replacement: tt.replacement}})
			r := p.Get(t, tt.method, tt.path, tt.cond)
			if r.StatusCode() != tt.wantStatus {
				t.Fatalf("got %d, want %d", r.StatusCode(), tt.wantStatus)
			}
			if tt.method == "GET" && string(r.Body()) != tt.wantBody {
				t.Fatalf("got body %q, want %q", r.Body(), tt.wantBody)
			}
			cc := string(r.Header.Peek("Cache-Control"))
			validators := len(r.Header.Peek("ETag")) > 0 || len(r.Header.Peek("Last-Modified")) > 0
			slotted := tt.path == "/page"
			if slotted && (!strings.HasPrefix(cc, "private") || strings.Contains(cc, "public") || validators) {
				t.Fatalf("slotted page answered with Cache-Control %q, validators %v:\n%s", cc, validators, &r.Header)
			}
			if !slotted && (cc != "public, max-age=60" || !validators) {
				t.Fatalf("unslotted response lost the origin's caching: Cache-Control %q, validators %v", cc, validators)
			}
		})
	}
	// A 304 that says what it is stands without a second origin request.
	n := len(rec.requests())
	origin2 := proxytest.StartOrigin(t, rec.handler(func(ctx *fasthttp.RequestCtx) {
		ctx.SetStatusCode(fasthttp.StatusNotModified)
		ctx.SetContentType("image/png")
		ctx.Response.Header.Set("ETag", etag)
	}))
	p := startProxy(t, origin2, Options{Rewriter: ReplaceRewriter{Marker: []byte("SLOT")}})
	if r := p.Get(t, "GET", "/logo.png", "If-None-Match: "+etag); r.StatusCode() != 304 {
		t.Fatalf("got %d, want 304", r.StatusCode())
	}
	if got := len(rec.requests()) - n; got != 1 {
		t.Fatalf("a typed 304 cost %d origin requests, want 1", got)
	}
}
