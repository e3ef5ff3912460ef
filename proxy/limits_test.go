package proxy

import (
	"bufio"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/marquee-proxy/marquee/internal/proxytest"

	"github.com/valyala/fasthttp"
)

func TestHeaderTooLarge(t *testing.T) {
	rec := &recorder{}
	p := startProxy(t, proxytest.StartOrigin(t, rec.handler(nil)), Options{MaxHeaderBytes: 4096})
	tests := []struct {
		name   string
		header int
		status int
	}{
		{"fits", 1000, 200},
		{"oversized", 8000, fasthttp.StatusRequestHeaderFieldsTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := "GET / HTTP/1.1\r\nHost: shop\r\nX-Big: " + strings.Repeat("a", tt.header) + "\r\nConnection: close\r\n\r\n"
			resps := proxytest.ReadResponses(t, p.Raw(t, raw))
			if len(resps) != 1 || resps[0].StatusCode() != tt.status {
				t.Fatalf("got %d responses, want one %d", len(resps), tt.status)
			}
		})
	}
	if n := len(rec.requests()); n != 1 {
		t.Fatalf("origin saw %d requests, want 1", n)
	}
}

// closedWithin reports whether the server closes c within d.
func closedWithin(c net.Conn, d time.Duration) bool {
	_ = c.SetReadDeadline(time.Now().Add(d))
	buf := make([]byte, 512)
	for {
		_, err := c.Read(buf)
		if err == nil {
			continue // an error response before closing
		}
		var ne net.Error
		return !(errors.As(err, &ne) && ne.Timeout()) || errors.Is(err, io.EOF)
	}
}

func TestIdleConnectionsDoNotStarve(t *testing.T) {
	const idle = 300
	origin := proxytest.StartOrigin(t, func(ctx *fasthttp.RequestCtx) { ctx.SetBodyString("ok") })
	p := startProxy(t, origin, Options{ReadTimeout: 500 * time.Millisecond, IdleTimeout: 500 * time.Millisecond})

	conns := make([]net.Conn, 0, idle)
	t.Cleanup(func() {
		for _, c := range conns {
			c.Close()
		}
	})
	for i := range idle {
		c, err := net.Dial("tcp", p.Addr)
		if err != nil {
			t.Fatalf("dial %d: %v", i, err)
		}
		if i%2 == 1 {
			// Half send an unfinished head, slowloris style.
			_, _ = io.WriteString(c, "GET / HTTP/1.1\r\nHost: shop\r\n")
		}
		conns = append(conns, c)
	}
	start := time.Now()
	for range 5 {
		if r := p.Get(t, "GET", "/"); string(r.Body()) != "ok" {
			t.Fatalf("got %q", r.Body())
		}
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("5 requests beside %d idle connections took %v", idle, d)
	}
	// The idle ones are cut after ReadTimeout.
	for i, c := range conns {
		if !closedWithin(c, 5*time.Second) {
			t.Fatalf("idle connection %d still open", i)
		}
	}
}

func TestKeepAliveIdleTimeout(t *testing.T) {
	origin := proxytest.StartOrigin(t, func(ctx *fasthttp.RequestCtx) { ctx.SetBodyString("ok") })
	p := startProxy(t, origin, Options{IdleTimeout: 300 * time.Millisecond})
	c, err := net.Dial("tcp", p.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, _ = io.WriteString(c, "GET / HTTP/1.1\r\nHost: shop\r\n\r\n")
	start := time.Now()
	if !closedWithin(c, 5*time.Second) {
		t.Fatal("keep-alive connection not closed")
	}
	if d := time.Since(start); d < 250*time.Millisecond {
		t.Fatalf("closed after %v, before IdleTimeout", d)
	}
}

func TestMaxConnsPerIP(t *testing.T) {
	origin := proxytest.StartOrigin(t, func(ctx *fasthttp.RequestCtx) { ctx.SetBodyString("ok") })
	p := startProxy(t, origin, Options{MaxConnsPerIP: 3})
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range 3 {
		c, err := net.Dial("tcp", p.Addr)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	// The fourth is turned away; poll, since the server counts a connection
	// only once it accepted it.
	proxytest.WaitFor(t, "a refused fourth connection", func() bool {
		out := p.Raw(t, "GET / HTTP/1.1\r\nHost: shop\r\n\r\n")
		return strings.HasPrefix(out, "HTTP/1.1 429")
	})
}

func TestIdleConnectionsKeepNoBody(t *testing.T) {
	// Each client reads one page-sized response and stays connected. The
	// proxy must not keep the body for the connection's next request: with
	// many idle keep-alive clients that would pin a page each.
	const (
		conns = 64
		size  = 200 << 10
	)
	// Random text, so that the page stays large when compressed too.
	noise := make([]byte, size*3/4)
	for i := range noise {
		noise[i] = byte(i*7919>>3) ^ byte(i*104729>>11)
	}
	html := []byte("<html><body>SLOT " + base64.StdEncoding.EncodeToString(noise) + "</body></html>")
	blob := make([]byte, size)
	origin := proxytest.StartOrigin(t, func(ctx *fasthttp.RequestCtx) {
		// SetBodyRaw: the origin itself keeps nothing per connection.
		switch string(ctx.Path()) {
		case "/small":
			ctx.SetContentType("application/octet-stream")
			ctx.Response.SetBodyRaw(blob[:1])
		case "/blob":
			ctx.SetContentType("application/octet-stream")
			ctx.Response.SetBodyRaw(blob)
		default:
			ctx.SetContentType("text/html")
			ctx.Response.SetBodyRaw(html)
		}
	})
	p := startProxy(t, origin, Options{Rewriter: ReplaceRewriter{Marker: []byte("SLOT"), Replacement: []byte("X")}})

	// heldBy opens conns connections, each reading one response to path,
	// and reports how much more heap is in use while they sit idle.
	heldBy := func(path, acceptEncoding string) int64 {
		before := heapInUse()
		open := make([]net.Conn, 0, conns)
		defer func() {
			for _, c := range open {
				c.Close()
			}
		}()
		for range conns {
			c, err := net.Dial("tcp", p.Addr)
			if err != nil {
				t.Fatal(err)
			}
			open = append(open, c)
			_ = c.SetDeadline(time.Now().Add(10 * time.Second))
			if _, err := io.WriteString(c, "GET "+path+" HTTP/1.1\r\nHost: shop\r\nAccept-Encoding: "+acceptEncoding+"\r\n\r\n"); err != nil {
				t.Fatal(err)
			}
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				t.Fatal(err)
			}
			n, err := io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if err != nil || resp.StatusCode != http.StatusOK || n == 0 {
				t.Fatalf("%s: status %d, %d bytes, %v", path, resp.StatusCode, n, err)
			}
		}
		return heapInUse() - before
	}
	base := heldBy("/small", "identity")
	for _, tt := range []struct{ path, enc string }{
		{"/blob", "identity"}, // passed through from a buffer
		{"/page", "identity"}, // rewritten
		{"/page", "gzip"},     // rewritten and compressed
	} {
		if extra := heldBy(tt.path, tt.enc) - base; extra > conns*size/8 {
			t.Errorf("%s (%s): %d idle connections hold %d KiB more than after 1-byte responses; want well under %d KiB (one body each)",
				tt.path, tt.enc, conns, extra>>10, conns*size>>10)
		}
	}
}

// heapInUse returns the heap in use after collecting garbage (twice, so
// that pooled objects are gone too).
func heapInUse() int64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapInuse)
}

// dialFrom opens a connection to addr from the loopback address src, so
// that one test can be several clients to the per-address limit.
func dialFrom(t *testing.T, src, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 2 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial from %s: %v", src, err)
	}
	return c
}

func TestSlowloris(t *testing.T) {
	// A few hundred connections from one address trickle their heads. The
	// per-address limit turns most away at once, the header timeout cuts the
	// rest long before ReadTimeout, and a client from another address is
	// served throughout. Every loop is bounded in count and time.
	const (
		slow       = 300
		perIP      = 40
		headerWait = 400 * time.Millisecond
	)
	origin := proxytest.StartOrigin(t, func(ctx *fasthttp.RequestCtx) { ctx.SetBodyString("ok") })
	p := startProxy(t, origin, Options{
		MaxConns:      100,
		MaxConnsPerIP: perIP,
		HeaderTimeout: headerWait,
		ReadTimeout:   30 * time.Second,
	})
	conns := make([]net.Conn, 0, slow)
	t.Cleanup(func() {
		for _, c := range conns {
			c.Close()
		}
	})
	start := time.Now()
	for range slow {
		c := dialFrom(t, "127.0.0.2", p.Addr)
		conns = append(conns, c)
		_, _ = io.WriteString(c, "GET / HTTP/1.1\r\nHost: shop\r\nX-Slow: ")
	}
	// While the dials go on, the header timeout frees the first slots: a
	// slow machine admits perIP more connections per headerWait of dialing.
	admissible := perIP * (int(time.Since(start)/headerWait) + 1)
	// Another visitor is served while they hold their connections.
	visit := func() string {
		c := dialFrom(t, "127.0.0.3", p.Addr)
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		_, _ = io.WriteString(c, "GET / HTTP/1.1\r\nHost: shop\r\nConnection: close\r\n\r\n")
		out, _ := io.ReadAll(c)
		return string(out)
	}
	if out := visit(); !strings.HasPrefix(out, "HTTP/1.1 200 ") {
		t.Fatalf("visitor beside %d slow connections got %q", slow, out)
	}
	// Every slow connection is closed, refused (429) or timed out, well
	// before ReadTimeout.
	refused := 0
	for i, c := range conns {
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		out, _ := io.ReadAll(c)
		if time.Since(start) > 5*time.Second {
			t.Fatalf("slow connection %d still open after %v", i, time.Since(start))
		}
		if strings.HasPrefix(string(out), "HTTP/1.1 429") {
			refused++
		}
	}
	if admitted := slow - refused; admitted > admissible {
		t.Fatalf("%d of %d connections from one address admitted, want at most %d", admitted, slow, admissible)
	}
	if out := visit(); !strings.HasPrefix(out, "HTTP/1.1 200 ") {
		t.Fatalf("visitor after the slow connections got %q", out)
	}
}

func TestHeaderTimeoutLeavesBodyReadTimeout(t *testing.T) {
	// A head must arrive within HeaderTimeout; a body then has ReadTimeout
	// of its own, so a slow upload is not cut at the header timeout.
	origin := proxytest.StartOrigin(t, func(ctx *fasthttp.RequestCtx) { ctx.SetBodyString(fmt.Sprint(len(ctx.Request.Body()))) })
	p := startProxy(t, origin, Options{HeaderTimeout: 200 * time.Millisecond, ReadTimeout: 5 * time.Second})
	c, err := net.Dial("tcp", p.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	_, _ = io.WriteString(c, "POST / HTTP/1.1\r\nHost: shop\r\nContent-Length: 4\r\nConnection: close\r\n\r\nab")
	time.Sleep(500 * time.Millisecond)
	_, _ = io.WriteString(c, "cd")
	out, _ := io.ReadAll(c)
	if !strings.HasPrefix(string(out), "HTTP/1.1 200 ") || !strings.HasSuffix(string(out), "\r\n\r\n4") {
		t.Fatalf("slow body cut: %q", out)
	}
}

func TestBodyTooLargeReadable(t *testing.T) {
	// A client that sends a large upload without waiting for an interim
	// answer must still be able to read the 413: the proxy closes
	// gracefully instead of resetting the connection under it.
	rec := &recorder{}
	p := startProxy(t, proxytest.StartOrigin(t, rec.handler(nil)), Options{MaxRequestBody: 64 << 10})
	const size = 8 << 20
	tests := []struct{ name, head string }{
		{"Content-Length", fmt.Sprintf("POST /upload HTTP/1.1\r\nHost: shop\r\nContent-Length: %d\r\n\r\n", size)},
		{"chunked", "POST /upload HTTP/1.1\r\nHost: shop\r\nTransfer-Encoding: chunked\r\n\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := net.Dial("tcp", p.Addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(10 * time.Second))
			chunk := make([]byte, 64<<10)
			for i := range chunk {
				chunk[i] = 'u'
			}
			if tt.name == "chunked" {
				chunk = append(fmt.Appendf(nil, "%x\r\n", len(chunk)), append(chunk, "\r\n"...)...)
			}
			_, _ = io.WriteString(c, tt.head)
			// Send it all before reading, as simple clients do. The proxy
			// must neither reset the connection under the upload nor after
			// it: over a real network a reset discards a 413 still unsent
			// or unacknowledged, and many clients report only the failed
			// write. (Linux loopback happens to keep the 413 readable after
			// a reset, so the test asks for no reset at all.)
			var werr error
			for sent := 0; sent < size && werr == nil; sent += len(chunk) {
				_, werr = c.Write(chunk)
			}
			out, rerr := io.ReadAll(c)
			if !strings.HasPrefix(string(out), "HTTP/1.1 413 ") {
				t.Fatalf("got %q, %v; want the 413", out, rerr)
			}
			if werr != nil || rerr != nil {
				t.Fatalf("connection reset: write %v, read %v", werr, rerr)
			}
		})
	}
	if n := len(rec.requests()); n != 0 {
		t.Fatalf("origin got %d requests", n)
	}
}

func TestMaxConnsPerIPSparesTrustedProxies(t *testing.T) {
	origin := proxytest.StartOrigin(t, func(ctx *fasthttp.RequestCtx) { ctx.SetBodyString("ok") })
	p := startProxy(t, origin, Options{MaxConnsPerIP: 2, TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.4/32")}})
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range 5 {
		conns = append(conns, dialFrom(t, "127.0.0.4", p.Addr))
	}
	c := dialFrom(t, "127.0.0.4", p.Addr)
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	_, _ = io.WriteString(c, "GET / HTTP/1.1\r\nHost: shop\r\nConnection: close\r\n\r\n")
	if out, _ := io.ReadAll(c); !strings.HasPrefix(string(out), "HTTP/1.1 200 ") {
		t.Fatalf("sixth connection from a trusted proxy got %q", out)
	}
}
