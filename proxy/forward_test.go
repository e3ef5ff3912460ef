package proxy

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/marquee-proxy/marquee/internal/proxytest"

	"github.com/valyala/fasthttp"
)

// seenRequest is what the origin received.
type seenRequest struct {
	method, uri, host string
	header            string // full header block as received
	bodyLen           int
	bodySum           [32]byte
}

// recorder is an origin that records requests and answers with respond.
type recorder struct {
	mu   sync.Mutex
	seen []seenRequest
}

func (r *recorder) handler(respond fasthttp.RequestHandler) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		r.mu.Lock()
		r.seen = append(r.seen, seenRequest{
			method:  string(ctx.Method()),
			uri:     string(ctx.Request.Header.RequestURI()),
			host:    string(ctx.Request.Header.Host()),
			header:  ctx.Request.Header.String(),
			bodyLen: len(ctx.Request.Body()),
			bodySum: sha256.Sum256(ctx.Request.Body()),
		})
		r.mu.Unlock()
		if respond != nil {
			respond(ctx)
		}
	}
}

func (r *recorder) requests() []seenRequest {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]seenRequest(nil), r.seen...)
}

func (r *recorder) last(t testing.TB) seenRequest {
	t.Helper()
	s := r.requests()
	if len(s) == 0 {
		t.Fatal("origin received no request")
	}
	return s[len(s)-1]
}

// headerHas reports whether a raw header block has a field name (any case).
func headerHas(block, name string) bool {
	for _, line := range strings.Split(block, "\r\n") {
		k, _, ok := strings.Cut(line, ":")
		if ok && strings.EqualFold(strings.TrimSpace(k), name) {
			return true
		}
	}
	return false
}

func headerValue(block, name string) string {
	for _, line := range strings.Split(block, "\r\n") {
		k, v, ok := strings.Cut(line, ":")
		if ok && strings.EqualFold(strings.TrimSpace(k), name) {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func TestHopByHopRequest(t *testing.T) {
	rec := &recorder{}
	p := startProxy(t, proxytest.StartOrigin(t, rec.handler(nil)), Options{})
	p.Get(t, "GET", "/a?b=c",
		"Connection: keep-alive, X-Conn-Only",
		"X-Conn-Only: secret",
		"Keep-Alive: timeout=5",
		"Proxy-Connection: keep-alive",
		"Proxy-Authorization: Basic Zm9vOmJhcg==",
		"TE: trailers",
		"Upgrade: websocket",
		"X-End-To-End: kept",
	)
	got := rec.last(t)
	for _, name := range []string{"X-Conn-Only", "Keep-Alive", "Proxy-Connection", "Proxy-Authorization", "Te", "Upgrade", "Transfer-Encoding"} {
		if headerHas(got.header, name) {
			t.Errorf("origin received hop-by-hop %s in\n%s", name, got.header)
		}
	}
	if v := headerValue(got.header, "Connection"); v != "" && !strings.EqualFold(v, "keep-alive") {
		t.Errorf("origin got Connection %q", v)
	}
	if v := headerValue(got.header, "X-End-To-End"); v != "kept" {
		t.Errorf("got X-End-To-End %q, want %q", v, "kept")
	}
	if got.uri != "/a?b=c" {
		t.Errorf("got uri %q, want %q", got.uri, "/a?b=c")
	}
}

func TestHopByHopResponse(t *testing.T) {
	origin := proxytest.StartOrigin(t, func(ctx *fasthttp.RequestCtx) {
		ctx.Response.Header.Set("Connection", "X-Origin-Conn")
		ctx.Response.Header.Set("X-Origin-Conn", "secret")
		ctx.Response.Header.Set("Keep-Alive", "timeout=5")
		ctx.Response.Header.Set("Proxy-Authenticate", "Basic")
		ctx.Response.Header.Set("Upgrade", "h2c")
		ctx.Response.Header.Set("X-End-To-End", "kept")
		ctx.SetBodyString("hello")
	})
	p := startProxy(t, origin, Options{})
	out := p.Raw(t, "GET / HTTP/1.1\r\nHost: shop\r\nConnection: close\r\n\r\n")
	head, body, _ := strings.Cut(out, "\r\n\r\n")
	for _, name := range []string{"X-Origin-Conn", "Keep-Alive", "Proxy-Authenticate", "Upgrade"} {
		if headerHas(head, name) {
			t.Errorf("client received hop-by-hop %s in\n%s", name, head)
		}
	}
	if v := headerValue(head, "X-End-To-End"); v != "kept" {
		t.Errorf("got X-End-To-End %q", v)
	}
	if body != "hello" {
		t.Errorf("got body %q", body)
	}
}

func TestForwardedHeaders(t *testing.T) {
	tests := []struct {
		name      string
		trusted   []netip.Prefix
		wantXFF   string
		wantProto string
		wantHost  string
	}{
		{"untrusted peer", nil, "127.0.0.1", "http", "shop.example"},
		{"trusted peer", []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, "203.0.113.9, 127.0.0.1", "https", "www.shop.example"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{}
			p := startProxy(t, proxytest.StartOrigin(t, rec.handler(nil)), Options{TrustedProxies: tt.trusted})
			req := &fasthttp.Request{}
			req.SetRequestURI("http://" + p.Addr + "/")
			req.Header.SetHost("shop.example")
			req.UseHostHeader = true
			req.Header.Set("X-Forwarded-For", "203.0.113.9")
			req.Header.Set("X-Forwarded-Proto", "https")
			req.Header.Set("X-Forwarded-Host", "www.shop.example")
			req.Header.Set("Forwarded", "for=6.6.6.6")
			p.Do(t, req)
			got := rec.last(t)
			if v := headerValue(got.header, "X-Forwarded-For"); v != tt.wantXFF {
				t.Errorf("X-Forwarded-For: got %q, want %q", v, tt.wantXFF)
			}
			if v := headerValue(got.header, "X-Forwarded-Proto"); v != tt.wantProto {
				t.Errorf("X-Forwarded-Proto: got %q, want %q", v, tt.wantProto)
			}
			if v := headerValue(got.header, "X-Forwarded-Host"); v != tt.wantHost {
				t.Errorf("X-Forwarded-Host: got %q, want %q", v, tt.wantHost)
			}
			if tt.trusted == nil && headerHas(got.header, "Forwarded") {
				t.Errorf("untrusted Forwarded reached the origin")
			}
		})
	}
}

func TestClientClaimsStripped(t *testing.T) {
	// Fields that claim a client address or an original URL reach the
	// origin only from a trusted proxy.
	claims := []string{
		"True-Client-IP", "CF-Connecting-IP", "X-Client-IP", "X-Original-URL", "X-Rewrite-URL",
		"X-Forwarded-Port", "X-Forwarded-Prefix", "Fastly-Client-IP", "x-cluster-client-ip",
		"X-Forwarded-Server", "X-Forwarded-Scheme", "X-Forwarded-Ssl",
	}
	tests := []struct {
		name    string
		trusted []netip.Prefix
	}{
		{"untrusted peer", nil},
		{"trusted peer", []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{}
			p := startProxy(t, proxytest.StartOrigin(t, rec.handler(nil)), Options{TrustedProxies: tt.trusted})
			headers := []string{"X-Kept: 1"}
			for _, c := range claims {
				headers = append(headers, c+": /admin")
			}
			p.Get(t, "GET", "/", headers...)
			got := rec.last(t)
			for _, c := range claims {
				if has := headerHas(got.header, c); has != (tt.trusted != nil) {
					t.Errorf("%s reached the origin %v, want %v", c, has, tt.trusted != nil)
				}
			}
			if !headerHas(got.header, "X-Kept") {
				t.Error("X-Kept removed")
			}
		})
	}
}

func TestHostHeader(t *testing.T) {
	for _, preserve := range []bool{false, true} {
		t.Run(fmt.Sprint("preserve=", preserve), func(t *testing.T) {
			rec := &recorder{}
			origin := proxytest.StartOrigin(t, rec.handler(nil))
			p := startProxy(t, origin, Options{PreserveHost: preserve})
			p.Raw(t, "GET /x HTTP/1.1\r\nHost: shop.example\r\nConnection: close\r\n\r\n")
			want := strings.TrimPrefix(origin, "http://")
			if preserve {
				want = "shop.example"
			}
			if got := rec.last(t).host; got != want {
				t.Fatalf("got Host %q, want %q", got, want)
			}
		})
	}
}

func TestSetCookieKept(t *testing.T) {
	origin := proxytest.StartOrigin(t, func(ctx *fasthttp.RequestCtx) {
		ctx.Response.Header.Add("Set-Cookie", "session=abc; Path=/; HttpOnly")
		ctx.Response.Header.Add("Set-Cookie", "session=; Path=/old; Max-Age=0")
		ctx.Response.Header.Add("Set-Cookie", "cart=3; Path=/")
		ctx.SetContentType("text/html")
		ctx.SetBodyString("<p>cookies</p>")
	})
	for _, rw := range []Rewriter{nil, ReplaceRewriter{Marker: []byte("cookies"), Replacement: []byte("biscuits")}} {
		p := startProxy(t, origin, Options{Rewriter: rw})
		out := p.Raw(t, "GET / HTTP/1.1\r\nHost: shop\r\nConnection: close\r\n\r\n")
		head, _, _ := strings.Cut(out, "\r\n\r\n")
		var got []string
		for _, line := range strings.Split(head, "\r\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(k, "Set-Cookie") {
				got = append(got, strings.TrimSpace(v))
			}
		}
		want := []string{"session=abc; Path=/; HttpOnly", "session=; Path=/old; Max-Age=0", "cart=3; Path=/"}
		if strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("rewriter %T: got Set-Cookie %q, want %q", rw, got, want)
		}
	}
}

func TestPassThroughUntouched(t *testing.T) {
	origin := proxytest.StartOrigin(t, func(ctx *fasthttp.RequestCtx) {
		switch string(ctx.Path()) {
		case "/redirect":
			ctx.Response.Header.Set("Location", "/elsewhere?x=1")
			ctx.Response.Header.Set("Cache-Control", "public, max-age=60")
			ctx.SetStatusCode(fasthttp.StatusFound)
			ctx.SetContentType("text/html")
			ctx.SetBodyString("<a href=/elsewhere>SLOT moved</a>")
		case "/missing":
			ctx.SetStatusCode(fasthttp.StatusNotFound)
			ctx.SetContentType("text/html")
			ctx.SetBodyString("<h1>SLOT not found</h1>")
		case "/json":
			ctx.SetContentType("application/json")
			ctx.SetBodyString(`{"SLOT":1}`)
		case "/boom":
			ctx.SetStatusCode(fasthttp.StatusServiceUnavailable)
			ctx.Response.Header.Set("Retry-After", "30")
			ctx.SetBodyString("SLOT down")
		}
	})
	p := startProxy(t, origin, Options{Rewriter: ReplaceRewriter{Marker: []byte("SLOT"), Replacement: []byte("X")}})
	tests := []struct {
		method, path string
		status       int
		body         string
		header       [2]string
	}{
		{"GET", "/redirect", 302, "<a href=/elsewhere>SLOT moved</a>", [2]string{"Location", "/elsewhere?x=1"}},
		{"GET", "/missing", 404, "<h1>SLOT not found</h1>", [2]string{"Content-Type", "text/html"}},
		{"GET", "/json", 200, `{"SLOT":1}`, [2]string{"Content-Type", "application/json"}},
		{"GET", "/boom", 503, "SLOT down", [2]string{"Retry-After", "30"}},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			r := p.Get(t, tt.method, tt.path)
			if r.StatusCode() != tt.status {
				t.Errorf("got status %d, want %d", r.StatusCode(), tt.status)
			}
			if string(r.Body()) != tt.body {
				t.Errorf("got body %q, want %q", r.Body(), tt.body)
			}
			if v := string(r.Header.Peek(tt.header[0])); v != tt.header[1] {
				t.Errorf("got %s %q, want %q", tt.header[0], v, tt.header[1])
			}
		})
	}
}

func TestHead(t *testing.T) {
	page := "<html><body>SLOT and more</body></html>"
	rec := &recorder{}
	origin := proxytest.StartOrigin(t, rec.handler(func(ctx *fasthttp.RequestCtx) {
		ctx.SetContentType("text/html; charset=utf-8")
		ctx.Response.Header.Set("ETag", `"v1"`)
		ctx.SetBodyString(page)
	}))
	tests := []struct {
		name    string
		rw      Rewriter
		wantLen int
		private bool
	}{
		{"no rewriter", nil, len(page), false},
		{"unslotted", ReplaceRewriter{Marker: []byte("NOPE")}, len(page), false},
		{"rewritten", ReplaceRewriter{Marker: []byte("SLOT"), Replacement: []byte("OFFER!")}, len(page) + 2, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := startProxy(t, origin, Options{Rewriter: tt.rw})
			out := p.Raw(t, "HEAD / HTTP/1.1\r\nHost: shop\r\nConnection: close\r\n\r\n")
			head, body, _ := strings.Cut(out, "\r\n\r\n")
			if body != "" {
				t.Errorf("HEAD response has body %q", body)
			}
			if v := headerValue(head, "Content-Length"); v != fmt.Sprint(tt.wantLen) {
				t.Errorf("got Content-Length %q, want %d in\n%s", v, tt.wantLen, head)
			}
			if got := strings.Contains(headerValue(head, "Cache-Control"), "private"); got != tt.private {
				t.Errorf("private: got %v, want %v", got, tt.private)
			}
			if got := headerValue(head, "ETag") == `"v1"`; got == tt.private {
				t.Errorf("ETag kept: got %v, want %v", got, !tt.private)
			}
		})
	}
}

func TestUpload(t *testing.T) {
	rec := &recorder{}
	p := startProxy(t, proxytest.StartOrigin(t, rec.handler(func(ctx *fasthttp.RequestCtx) {
		ctx.SetStatusCode(fasthttp.StatusCreated)
	})), Options{})
	body := bytes.Repeat([]byte("0123456789abcdef"), (8<<20)/16)
	req := &fasthttp.Request{}
	req.Header.SetMethod("POST")
	req.SetRequestURI("http://" + p.Addr + "/upload")
	req.SetBody(body)
	if r := p.Do(t, req); r.StatusCode() != fasthttp.StatusCreated {
		t.Fatalf("got status %d, want 201", r.StatusCode())
	}
	got := rec.last(t)
	if got.bodyLen != len(body) || got.bodySum != sha256.Sum256(body) {
		t.Fatalf("origin got %d bytes (hash match %v), want %d", got.bodyLen, got.bodySum == sha256.Sum256(body), len(body))
	}

	// Declared one byte over the limit: refused before the body is read.
	resps := proxytest.ReadResponses(t, p.Raw(t, fmt.Sprintf("POST /upload HTTP/1.1\r\nHost: shop\r\nContent-Length: %d\r\n\r\n", len(body)+1)))
	if len(resps) != 1 || resps[0].StatusCode() != fasthttp.StatusRequestEntityTooLarge {
		t.Fatalf("oversized upload: got %d responses, want one 413", len(resps))
	}
	if n := len(rec.requests()); n != 1 {
		t.Fatalf("origin saw %d requests, want 1", n)
	}
}

func TestNoOpenProxy(t *testing.T) {
	// A bystander that must never be contacted.
	other, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var contacted sync.WaitGroup
	contactedCh := make(chan struct{}, 1)
	contacted.Add(1)
	go func() {
		defer contacted.Done()
		c, err := other.Accept()
		if err == nil {
			contactedCh <- struct{}{}
			c.Close()
		}
	}()
	t.Cleanup(func() { other.Close(); contacted.Wait() })

	rec := &recorder{}
	originURL := proxytest.StartOrigin(t, rec.handler(func(ctx *fasthttp.RequestCtx) { ctx.SetBodyString("origin") }))
	p := startProxy(t, originURL, Options{})
	o := other.Addr().String()
	tests := []struct {
		name, raw string
		status    int
		wantURI   string
	}{
		{"absolute-form", "GET http://" + o + "/steal?x=1 HTTP/1.1\r\nHost: " + o + "\r\nConnection: close\r\n\r\n", 200, "/steal?x=1"},
		{"foreign host header", "GET /page HTTP/1.1\r\nHost: " + o + "\r\nConnection: close\r\n\r\n", 200, "/page"},
		{"scheme-relative path", "GET //" + o + "/x HTTP/1.1\r\nHost: shop\r\nConnection: close\r\n\r\n", 200, "//" + o + "/x"},
		{"https absolute-form", "GET https://" + o + "/s HTTP/1.1\r\nHost: shop\r\nConnection: close\r\n\r\n", 200, "/s"},
		{"CONNECT tunnel", "CONNECT " + o + " HTTP/1.1\r\nHost: " + o + "\r\n\r\n", 400, ""},
		{"authority-form GET", "GET " + o + " HTTP/1.1\r\nHost: " + o + "\r\nConnection: close\r\n\r\n", 400, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(rec.requests())
			resps := proxytest.ReadResponses(t, p.Raw(t, tt.raw))
			if len(resps) == 0 || resps[0].StatusCode() != tt.status {
				t.Fatalf("got %d responses, want status %d", len(resps), tt.status)
			}
			if tt.wantURI == "" {
				if len(rec.requests()) != before {
					t.Fatalf("refused request reached the origin")
				}
				return
			}
			if got := rec.last(t).uri; got != tt.wantURI {
				t.Fatalf("origin got %q, want %q", got, tt.wantURI)
			}
			if got, want := rec.last(t).host, strings.TrimPrefix(originURL, "http://"); got != want {
				t.Fatalf("origin got Host %q, want %q", got, want)
			}
		})
	}
	select {
	case <-contactedCh:
		t.Fatal("proxy connected to a host other than the origin")
	default:
	}
}

func TestOriginErrors(t *testing.T) {
	// A port with nothing listening: refused.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := "http://" + ln.Addr().String()
	ln.Close()

	release := make(chan struct{})
	slow := proxytest.StartOrigin(t, func(ctx *fasthttp.RequestCtx) {
		select {
		case <-release:
		case <-time.After(5 * time.Second):
		}
		ctx.SetBodyString("late")
	})
	t.Cleanup(func() { close(release) })

	tests := []struct {
		name   string
		origin string
		status int
		log    string
	}{
		{"refused", down, fasthttp.StatusBadGateway, "status=502"},
		{"slow", slow, fasthttp.StatusGatewayTimeout, "status=504"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := startProxy(t, tt.origin, Options{OriginTimeout: 200 * time.Millisecond})
			r := p.Get(t, "GET", "/")
			if r.StatusCode() != tt.status {
				t.Fatalf("got %d, want %d", r.StatusCode(), tt.status)
			}
			if !bytes.Contains(r.Body(), []byte("<h1>")) || !bytes.HasPrefix(r.Header.ContentType(), []byte("text/html")) {
				t.Errorf("want a short HTML body, got %q (%s)", r.Body(), r.Header.ContentType())
			}
			if logs := p.logs.String(); strings.Count(logs, "origin request failed") != 1 || !strings.Contains(logs, tt.log) {
				t.Errorf("want one log line with %q, got:\n%s", tt.log, logs)
			}
		})
	}
}

// readUntil reads c, appending to got, until got contains want, and fails
// the test, saying what was awaited, if reading fails first.
func readUntil(t *testing.T, c net.Conn, got []byte, want, what string) []byte {
	t.Helper()
	buf := make([]byte, 4096)
	for !bytes.Contains(got, []byte(want)) {
		n, err := c.Read(buf)
		got = append(got, buf[:n]...)
		if err != nil && !bytes.Contains(got, []byte(want)) {
			t.Fatalf("%s: %v (got %q)", what, err, got)
		}
	}
	return got
}

func TestStreamingNotBuffered(t *testing.T) {
	// The origin sends a first chunk and holds the rest until the client
	// has seen it: only a streaming proxy lets the client see it.
	seen := make(chan struct{})
	origin := proxytest.StartOrigin(t, func(ctx *fasthttp.RequestCtx) {
		ctx.SetContentType("application/octet-stream")
		ctx.SetBodyStreamWriter(func(w *bufio.Writer) {
			_, _ = w.WriteString("first-chunk;")
			_ = w.Flush()
			select {
			case <-seen:
			case <-time.After(5 * time.Second):
			}
			_, _ = w.WriteString("rest")
		})
	})
	p := startProxy(t, origin, Options{Rewriter: IdentityRewriter{}})
	c, err := net.Dial("tcp", p.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: shop\r\nConnection: close\r\n\r\n")
	got := readUntil(t, c, nil, "first-chunk;", "before first chunk")
	close(seen)
	readUntil(t, c, got, "rest", "body incomplete")
}

func TestLargeHTMLStreamedUntouched(t *testing.T) {
	page := []byte("<html>" + strings.Repeat("SLOT ", 50000) + "</html>")
	for _, chunked := range []bool{false, true} {
		t.Run(fmt.Sprint("chunked=", chunked), func(t *testing.T) {
			origin := proxytest.StartOrigin(t, func(ctx *fasthttp.RequestCtx) {
				ctx.SetContentType("text/html")
				ctx.Response.Header.Set("ETag", `"big"`)
				if chunked {
					ctx.SetBodyStream(bytes.NewReader(page), -1)
					return
				}
				ctx.SetBody(page)
			})
			p := startProxy(t, origin, Options{
				MaxRewriteBody: 64 << 10,
				Rewriter:       ReplaceRewriter{Marker: []byte("SLOT"), Replacement: []byte("X")},
			})
			r := p.Get(t, "GET", "/")
			if !bytes.Equal(r.Body(), page) {
				t.Fatalf("got %d bytes, want the %d origin bytes untouched", len(r.Body()), len(page))
			}
			if string(r.Header.Peek("ETag")) != `"big"` {
				t.Fatalf("ETag lost")
			}
		})
	}
}

func TestMaxResponseBody(t *testing.T) {
	origin := proxytest.StartOrigin(t, func(ctx *fasthttp.RequestCtx) {
		ctx.SetContentType("application/octet-stream")
		ctx.SetBody(make([]byte, 10000))
	})
	p := startProxy(t, origin, Options{MaxResponseBody: 5000})
	if r := p.Get(t, "GET", "/"); r.StatusCode() != fasthttp.StatusBadGateway {
		t.Fatalf("got %d, want 502", r.StatusCode())
	}
}

func TestSeveralOrigins(t *testing.T) {
	var mu sync.Mutex
	hits := map[string]int{}
	mk := func(name string) string {
		return proxytest.StartOrigin(t, func(ctx *fasthttp.RequestCtx) {
			mu.Lock()
			hits[name]++
			mu.Unlock()
			ctx.SetBodyString(name)
		})
	}
	a, b := mk("a"), mk("b")
	p := startProxy(t, "", Options{Origins: []string{a, b}})
	for range 20 {
		if r := p.Get(t, "GET", "/"); r.StatusCode() != 200 {
			t.Fatalf("got %d", r.StatusCode())
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if hits["a"]+hits["b"] != 20 {
		t.Fatalf("got hits %v", hits)
	}
}

func TestNoContentTypeAdded(t *testing.T) {
	// The request side is checked on the wire: fasthttp's own serialiser
	// would add a default type when printing a parsed header.
	tapURL, tap := startTapOrigin(t)
	p := startProxy(t, tapURL, Options{})
	p.Raw(t, "POST / HTTP/1.1\r\nHost: shop\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc")
	if head, _, _ := strings.Cut(tap.wire(), "\r\n\r\n"); headerHas(head, "Content-Type") {
		t.Errorf("origin got a Content-Type the client did not send:\n%s", head)
	}

	origin := proxytest.StartOrigin(t, func(ctx *fasthttp.RequestCtx) {
		ctx.Response.Header.SetNoDefaultContentType(true)
		ctx.SetBodyString("untyped")
	})
	for _, rw := range []Rewriter{nil, IdentityRewriter{}} {
		p := startProxy(t, origin, Options{Rewriter: rw})
		out := p.Raw(t, "GET / HTTP/1.1\r\nHost: shop\r\nConnection: close\r\n\r\n")
		head, _, _ := strings.Cut(out, "\r\n\r\n")
		if headerHas(head, "Content-Type") {
			t.Errorf("client got a Content-Type the origin did not send:\n%s", head)
		}
	}
}

func TestExpectContinue(t *testing.T) {
	rec := &recorder{}
	p := startProxy(t, proxytest.StartOrigin(t, rec.handler(func(ctx *fasthttp.RequestCtx) { ctx.SetBodyString("stored") })), Options{})
	c, err := net.Dial("tcp", p.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintf(c, "POST /f HTTP/1.1\r\nHost: shop\r\nExpect: 100-continue\r\nContent-Length: 5\r\nConnection: close\r\n\r\n")
	br := bufio.NewReader(c)
	line, err := br.ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "HTTP/1.1 100") {
		t.Fatalf("got %q, %v; want 100 Continue", line, err)
	}
	if _, err := br.ReadString('\n'); err != nil { // blank line after 100
		t.Fatal(err)
	}
	fmt.Fprintf(c, "hello")
	var resp fasthttp.Response
	if err := resp.Read(br); err != nil || string(resp.Body()) != "stored" {
		t.Fatalf("got %q, %v", resp.Body(), err)
	}
	got := rec.last(t)
	if headerHas(got.header, "Expect") || got.bodyLen != 5 {
		t.Fatalf("origin got Expect or wrong body (%d bytes):\n%s", got.bodyLen, got.header)
	}
}

func TestOriginConnectionCloseNotPropagated(t *testing.T) {
	origin := proxytest.StartOrigin(t, func(ctx *fasthttp.RequestCtx) {
		ctx.SetConnectionClose()
		ctx.SetBodyString("bye")
	})
	p := startProxy(t, origin, Options{})
	out := p.Raw(t, "GET /1 HTTP/1.1\r\nHost: shop\r\n\r\nGET /2 HTTP/1.1\r\nHost: shop\r\nConnection: close\r\n\r\n")
	resps := proxytest.ReadResponses(t, out)
	if len(resps) != 2 {
		t.Fatalf("got %d responses on one client connection, want 2:\n%s", len(resps), out)
	}
	for i, r := range resps {
		if string(r.Body()) != "bye" {
			t.Fatalf("response %d: %q", i, r.Body())
		}
	}
	if resps[0].ConnectionClose() {
		t.Fatal("origin's Connection: close reached the client")
	}
}

func TestOutcomesCounted(t *testing.T) {
	origin, _ := pageOrigin(t, "", "public")
	p := startProxy(t, origin, Options{Rewriter: fillSlot})
	p.Get(t, "GET", "/")
	p.Get(t, "POST", "/")
	m := p.srv.metrics
	if got := counterValue(t, m.requests[outcomeRewritten]); got != 1 {
		t.Errorf("rewritten: got %v, want 1", got)
	}
	if got := counterValue(t, m.requests[outcomePassthrough]); got != 1 {
		t.Errorf("passthrough: got %v, want 1", got)
	}
}

func TestCookieHeaderVerbatim(t *testing.T) {
	// fasthttp drops cookies it considers invalid when it re-serialises;
	// the proxy must relay the client's Cookie field byte for byte.
	const cookie = `a=1;b=2; json={"x":[1,2]}; q="quoted"; sp=with space; flag`
	tapURL, tap := startTapOrigin(t)
	p := startProxy(t, tapURL, Options{Rewriter: IdentityRewriter{}})
	p.Raw(t, "GET / HTTP/1.1\r\nHost: shop\r\nCookie: "+cookie+"\r\nConnection: close\r\n\r\n")
	if got := headerValue(tap.wire(), "Cookie"); got != cookie {
		t.Fatalf("origin got Cookie %q, want %q", got, cookie)
	}
}

// startRawOrigin reads one request head on each connection, then hands the
// connection to serve, which writes whatever bytes it likes; the
// connection is closed when serve returns. done is closed when the test
// ends, for serve to wait on.
func startRawOrigin(t *testing.T, serve func(c net.Conn, done <-chan struct{})) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { close(done); ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					line, err := br.ReadString('\n')
					if err != nil {
						return
					}
					if line == "\r\n" {
						break
					}
				}
				serve(c, done)
			}()
		}
	}()
	return "http://" + ln.Addr().String()
}

func TestPassthroughBodyFraming(t *testing.T) {
	small := strings.Repeat("a", 1000)
	large := strings.Repeat("b", maxBufferedBody+1)
	head := func(cl int) string {
		return fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: %d\r\n\r\n", cl)
	}
	tests := []struct {
		name     string
		resp     string
		hold     bool
		status   int
		wantBody string
	}{
		{"known length, read in full", head(len(small)) + small, false, fasthttp.StatusOK, small},
		{"known length above the buffered size, streamed", head(len(large)) + large, false, fasthttp.StatusOK, large},
		{"empty body", head(0), false, fasthttp.StatusOK, ""},
		// Read in full before answering, so a short body is an origin
		// failure the client can tell, not a cut page.
		{"origin closes short of its length", head(2000) + small, false, fasthttp.StatusBadGateway, ""},
		{"origin stalls short of its length", head(2000) + small, true, fasthttp.StatusGatewayTimeout, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			origin := startRawOrigin(t, func(c net.Conn, done <-chan struct{}) {
				_, _ = io.WriteString(c, tt.resp)
				if tt.hold {
					<-done
				}
			})
			p := startProxy(t, origin, Options{OriginTimeout: 300 * time.Millisecond})
			r := p.Get(t, "GET", "/")
			if r.StatusCode() != tt.status {
				t.Fatalf("got %d, want %d", r.StatusCode(), tt.status)
			}
			if tt.status == fasthttp.StatusOK && string(r.Body()) != tt.wantBody {
				t.Fatalf("got %d body bytes, want the origin's %d", len(r.Body()), len(tt.wantBody))
			}
		})
	}
}

func TestDeclaredLengthStreamsWhenAsked(t *testing.T) {
	// Responses that are produced over time reach the client as they come,
	// even with a length small enough to be read in full first.
	tests := []struct{ name, header string }{
		{"server-sent events", "Content-Type: text/event-stream; charset=utf-8"},
		{"multipart replace", "Content-Type: multipart/x-mixed-replace; boundary=frame"},
		{"X-Accel-Buffering: no", "Content-Type: application/json\r\nX-Accel-Buffering: no"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			release := make(chan struct{})
			origin := startRawOrigin(t, func(c net.Conn, done <-chan struct{}) {
				fmt.Fprintf(c, "HTTP/1.1 200 OK\r\n%s\r\nContent-Length: 22\r\n\r\ndata: first\n\n", tt.header)
				select {
				case <-release:
				case <-done:
				}
				_, _ = io.WriteString(c, "data: 2\n\n")
			})
			p := startProxy(t, origin, Options{})
			c, err := net.Dial("tcp", p.Addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(5 * time.Second))
			fmt.Fprintf(c, "GET /events HTTP/1.1\r\nHost: shop\r\n\r\n")
			got := readUntil(t, c, nil, "data: first", "before the origin finished")
			close(release)
			readUntil(t, c, got, "data: 2", "rest of the body")
		})
	}
}

func TestBufferedBodyReusesOriginConnection(t *testing.T) {
	// A body read in full leaves the origin connection at a clean message
	// boundary, so the next request goes over the same connection.
	body := bytes.Repeat([]byte("b"), 100<<10)
	var mu sync.Mutex
	conns := map[uint64]bool{}
	origin := proxytest.StartOrigin(t, func(ctx *fasthttp.RequestCtx) {
		mu.Lock()
		conns[ctx.ConnID()] = true
		mu.Unlock()
		ctx.SetContentType("application/octet-stream")
		ctx.SetBody(body)
	})
	p := startProxy(t, origin, Options{})
	for i := range 5 {
		if r := p.Get(t, "GET", "/"); r.StatusCode() != fasthttp.StatusOK || !bytes.Equal(r.Body(), body) {
			t.Fatalf("request %d: status %d, %d bytes", i, r.StatusCode(), len(r.Body()))
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(conns) != 1 {
		t.Fatalf("5 sequential requests used %d origin connections, want 1", len(conns))
	}
}

func TestStripQueryParams(t *testing.T) {
	rec := &recorder{}
	p := startProxy(t, proxytest.StartOrigin(t, rec.handler(nil)), Options{StripQueryParams: []string{"mq_preview"}})
	tests := []struct{ target, want string }{
		{"/p?mq_preview=tok", "/p"},
		{"/p?a=1&mq_preview=tok&b=2", "/p?a=1&b=2"},
		{"/p?a=1&mq_preview=tok", "/p?a=1"},
		{"/p?mq_preview", "/p"},
		{"/p?mq_preview=a&mq_preview=b&c", "/p?c"},
		{"/p?mq%5Fpreview=tok&c=%5F", "/p?c=%5F"},
		{"/p?mq%5fpreview=tok", "/p"},
		{"/p?xmq_preview=1&mq_preview_x=2&q=mq_preview", "/p?xmq_preview=1&mq_preview_x=2&q=mq_preview"},
		{"/p?a=%zz&b", "/p?a=%zz&b"},
		{"/p?a=1&&b=2", "/p?a=1&&b=2"},
		{"/mq_preview?x=1", "/mq_preview?x=1"},
		{"/p", "/p"},
		{"http://shop/abs?mq_preview=tok&z=1", "/abs?z=1"},
		{"http://shop/abs?z=1", "/abs?z=1"},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			out := p.Raw(t, "GET "+tt.target+" HTTP/1.1\r\nHost: shop\r\nConnection: close\r\n\r\n")
			if !strings.HasPrefix(out, "HTTP/1.1 200 ") {
				t.Fatalf("got %q", out)
			}
			if got := rec.last(t).uri; got != tt.want {
				t.Fatalf("origin got %q, want %q", got, tt.want)
			}
		})
	}
}

func FuzzAppendStrippedQuery(f *testing.F) {
	for _, q := range []string{"mq_preview=tok", "a=1&mq_preview=tok&b=2", "mq%5Fpreview=1", "&&", "a=%zz&mq_preview", "mq_preview%"} {
		f.Add(q)
	}
	s := &Server{opts: Options{StripQueryParams: []string{"mq_preview"}}}
	f.Fuzz(func(t *testing.T, q string) {
		got := string(s.appendStrippedQuery(nil, []byte(q)))
		if got != "" && got[0] != '?' {
			t.Fatalf("%q: got %q", q, got)
		}
		var u fasthttp.URI
		u.SetQueryString(strings.TrimPrefix(got, "?"))
		if u.QueryArgs().Has("mq_preview") {
			t.Fatalf("%q: mq_preview survives in %q", q, got)
		}
		if !s.mustStripQuery([]byte(q)) && "?"+q != got && q != "" && !strings.Contains(q, "&") {
			t.Fatalf("%q: changed to %q although nothing to strip", q, got)
		}
	})
}
