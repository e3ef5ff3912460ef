package proxy

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/marquee-proxy/marquee/internal/proxytest"

	"github.com/valyala/fasthttp"
)

// tapListener records every byte the origin reads off the wire.
type tapListener struct {
	net.Listener
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *tapListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &tapConn{Conn: c, l: l}, nil
}

func (l *tapListener) wire() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

type tapConn struct {
	net.Conn
	l *tapListener
}

func (c *tapConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.l.mu.Lock()
	c.l.buf.Write(p[:n])
	c.l.mu.Unlock()
	return n, err
}

// startTapOrigin starts an origin answering "ok" and returns its URL and tap.
func startTapOrigin(t testing.TB) (string, *tapListener) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tap := &tapListener{Listener: ln}
	proxytest.ServeOrigin(t, tap, &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) { ctx.SetBodyString("ok") }})
	return "http://" + ln.Addr().String(), tap
}

// originRequests parses the origin's wire bytes strictly, as a second,
// independent HTTP/1.1 parser (net/http's rules via fasthttp with framing
// checks), and returns each request's method, URI, framing and body.
func originRequests(t testing.TB, wire string) []*fasthttp.Request {
	t.Helper()
	br := bufio.NewReader(strings.NewReader(wire))
	var out []*fasthttp.Request
	for range 10 {
		if _, err := br.Peek(1); err != nil {
			break
		}
		r := &fasthttp.Request{}
		if err := r.Read(br); err != nil {
			t.Fatalf("origin received unparseable bytes: %v in %q", err, wire)
		}
		out = append(out, r)
	}
	return out
}

func TestRequestSmuggling(t *testing.T) {
	const smuggled = "GET /smuggled HTTP/1.1\r\nHost: shop\r\n\r\n"
	tests := []struct {
		name string
		raw  string
		// wantBody is the body the origin must get when the request is
		// normalised; "-" means it must be refused.
		wantBody string
	}{
		{"CL then TE", "POST /a HTTP/1.1\r\nHost: shop\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n" + smuggled, "hello"},
		{"TE then CL", "POST /a HTTP/1.1\r\nHost: shop\r\nTransfer-Encoding: chunked\r\nContent-Length: 40\r\n\r\n5\r\nhello\r\n0\r\n\r\n" + smuggled, "hello"},
		{"CL.TE classic", "POST /a HTTP/1.1\r\nHost: shop\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nG" + smuggled, ""},
		{"duplicate CL", "POST /a HTTP/1.1\r\nHost: shop\r\nContent-Length: 5\r\nContent-Length: 44\r\n\r\nhello" + smuggled, "-"},
		{"duplicate CL same value", "POST /a HTTP/1.1\r\nHost: shop\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello" + smuggled, "hello"},
		{"CL list", "POST /a HTTP/1.1\r\nHost: shop\r\nContent-Length: 5, 44\r\n\r\nhello" + smuggled, "-"},
		{"CL plus sign", "POST /a HTTP/1.1\r\nHost: shop\r\nContent-Length: +5\r\n\r\nhello" + smuggled, "-"},
		{"CL negative", "POST /a HTTP/1.1\r\nHost: shop\r\nContent-Length: -1\r\n\r\nhello" + smuggled, "-"},
		{"TE xchunked", "POST /a HTTP/1.1\r\nHost: shop\r\nTransfer-Encoding: xchunked\r\nContent-Length: 5\r\n\r\nhello" + smuggled, "-"},
		{"TE list", "POST /a HTTP/1.1\r\nHost: shop\r\nTransfer-Encoding: chunked, identity\r\n\r\n5\r\nhello\r\n0\r\n\r\n" + smuggled, "-"},
		{"TE gzip, chunked", "POST /a HTTP/1.1\r\nHost: shop\r\nTransfer-Encoding: gzip, chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n" + smuggled, "-"},
		{"TE twice", "POST /a HTTP/1.1\r\nHost: shop\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: x\r\n\r\n5\r\nhello\r\n0\r\n\r\n" + smuggled, "-"},
		{"TE space before colon", "POST /a HTTP/1.1\r\nHost: shop\r\nTransfer-Encoding : chunked\r\nContent-Length: 5\r\n\r\nhello" + smuggled, "-"},
		{"TE tab value", "POST /a HTTP/1.1\r\nHost: shop\r\nTransfer-Encoding:\tchunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n" + smuggled, "hello"},
		{"TE vertical tab", "POST /a HTTP/1.1\r\nHost: shop\r\nTransfer-Encoding: \x0bchunked\r\nContent-Length: 5\r\n\r\nhello" + smuggled, "-"},
		{"TE obs-fold", "POST /a HTTP/1.1\r\nHost: shop\r\nContent-Length: 5\r\nX: y\r\n Transfer-Encoding: chunked\r\n\r\nhello" + smuggled, "hello"},
		{"TE mixed case", "POST /a HTTP/1.1\r\nHost: shop\r\ntRANSFER-eNCODING: cHUNKED\r\n\r\n5\r\nhello\r\n0\r\n\r\n" + smuggled, "hello"},
		{"TE in HTTP/1.0", "POST /a HTTP/1.0\r\nHost: shop\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\nhello" + smuggled, "-"},
		{"bare LF head", "POST /a HTTP/1.1\nHost: shop\nContent-Length: 5\n\nhello" + smuggled, "hello"},
		{"bare LF hides TE", "POST /a HTTP/1.1\r\nHost: shop\r\nX: a\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\nhello" + smuggled, "-"},
		{"bare CR in header", "POST /a HTTP/1.1\r\nHost: shop\r\nX: a\rTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\nhello" + smuggled, "-"},
		{"chunk size bare LF", "POST /a HTTP/1.1\r\nHost: shop\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n" + smuggled, "-"},
		{"chunk size overflow", "POST /a HTTP/1.1\r\nHost: shop\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFFF5\r\nhello\r\n0\r\n\r\n" + smuggled, "-"},
		{"chunk ext", "POST /a HTTP/1.1\r\nHost: shop\r\nTransfer-Encoding: chunked\r\n\r\n5;a=b\r\nhello\r\n0\r\n\r\n" + smuggled, "hello"},
		{"TE with underscore", "POST /a HTTP/1.1\r\nHost: shop\r\nTransfer_Encoding: chunked\r\nContent-Length: 5\r\n\r\nhello" + smuggled, "-"},
		{"CL with underscore", "POST /a HTTP/1.1\r\nHost: shop\r\nContent_Length: 44\r\nContent-Length: 5\r\n\r\nhello" + smuggled, "-"},
		{"harmless underscore", "POST /a HTTP/1.1\r\nHost: shop\r\nX_Custom: 1\r\nContent-Length: 5\r\n\r\nhello", "hello"},
		{"two hosts", "GET /a HTTP/1.1\r\nHost: shop\r\nHost: evil\r\n\r\n" + smuggled, "-"},
		{"space in request line", "GET /a HTTP/1.1 extra\r\nHost: shop\r\n\r\n" + smuggled, "-"},
		{"HTTP/1.2", "POST /a HTTP/1.2\r\nHost: shop\r\nContent-Length: 5\r\n\r\nhello" + smuggled, "-"},
		{"HTTP/2.0 request line", "GET /a HTTP/2.0\r\nHost: shop\r\n\r\n" + smuggled, "-"},
		{"HTTP/1.0", "POST /a HTTP/1.0\r\nHost: shop\r\nContent-Length: 5\r\n\r\nhello", "hello"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			origin, tap := startTapOrigin(t)
			p := startProxy(t, origin, Options{})
			resps := proxytest.ReadResponses(t, p.Raw(t, tt.raw))
			if len(resps) == 0 {
				t.Fatal("no response")
			}
			wire := tap.wire()
			reqs := originRequests(t, wire)
			switch code := resps[0].StatusCode(); code {
			case fasthttp.StatusBadRequest, fasthttp.StatusNotImplemented, fasthttp.StatusHTTPVersionNotSupported:
				if len(reqs) != 0 {
					t.Fatalf("refused with %d but the origin received %q", code, wire)
				}
				return
			case fasthttp.StatusOK:
			default:
				t.Fatalf("got status %d, want 400 or a normalised 200", code)
			}
			if tt.wantBody == "-" {
				t.Fatalf("want refusal, got 200; origin received %q", wire)
			}
			// The proxy and the origin must agree on where each request
			// ends: every request the origin parsed is one the proxy
			// answered, so nothing rode inside another's body.
			if len(reqs) != len(resps) {
				t.Fatalf("origin parsed %d requests, proxy answered %d: %q", len(reqs), len(resps), wire)
			}
			for _, r := range reqs {
				cl := r.Header.ContentLength()
				if len(r.Header.Peek("Transfer-Encoding")) > 0 || cl == -1 || (cl >= 0 && cl != len(r.Body())) {
					t.Fatalf("origin received ambiguous framing: %q", wire)
				}
			}
			if strings.Contains(strings.ToLower(wire), "\ntransfer-encoding") {
				t.Fatalf("origin received Transfer-Encoding: %q", wire)
			}
			if got := string(reqs[0].Body()); got != tt.wantBody {
				t.Fatalf("origin got body %q, want %q", got, tt.wantBody)
			}
			if bytes.Contains([]byte(wire), []byte("\n")) && strings.Count(wire, "\n") != strings.Count(wire, "\r\n") {
				t.Fatalf("origin received bare LF: %q", wire)
			}
		})
	}
}

// startBodyIgnoringOrigin serves keep-alive connections the way a careless
// origin does: it reads each request head, never a body, and answers with
// the request line it read, a smuggled one a little late; a POST to /deny
// gets 401. It returns the origin's URL and a function
// that counts the connections accepted.
func startBodyIgnoringOrigin(t *testing.T) (string, func() int) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu    sync.Mutex
		conns int
	)
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns++
			mu.Unlock()
			go func() {
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(10 * time.Second))
				br := bufio.NewReader(c)
				for range 20 {
					first, err := br.ReadString('\n')
					if err != nil {
						return
					}
					for {
						line, err := br.ReadString('\n')
						if err != nil {
							return
						}
						if line == "\r\n" {
							break
						}
					}
					body := strings.TrimSpace(first)
					status := "200 OK"
					if strings.HasPrefix(body, "POST /deny") {
						status = "401 Unauthorized"
					}
					if strings.Contains(body, "/smuggled") {
						// Answer after the proxy has taken the response
						// before it, so that this one waits on the idle
						// connection for the next visitor.
						time.Sleep(50 * time.Millisecond)
					}
					if _, err := fmt.Fprintf(c, "HTTP/1.1 %s\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s", status, len(body), body); err != nil {
						return
					}
				}
			}()
		}
	}()
	return "http://" + ln.Addr().String(), func() int { mu.Lock(); defer mu.Unlock(); return conns }
}

func TestBodyOnBodilessMethodDoesNotDesync(t *testing.T) {
	const smuggled = "GET /smuggled HTTP/1.1\r\nHost: shop\r\n\r\n"
	tests := []struct {
		name, raw string
		refused   bool
	}{
		{"GET with Content-Length", "GET /a HTTP/1.1\r\nHost: shop\r\nContent-Length: " + fmt.Sprint(len(smuggled)) + "\r\n\r\n" + smuggled, true},
		{"HEAD with Content-Length", "HEAD /a HTTP/1.1\r\nHost: shop\r\nContent-Length: " + fmt.Sprint(len(smuggled)) + "\r\n\r\n" + smuggled, true},
		{"GET chunked", "GET /a HTTP/1.1\r\nHost: shop\r\nTransfer-Encoding: chunked\r\n\r\n" + fmt.Sprintf("%x\r\n%s\r\n0\r\n\r\n", len(smuggled), smuggled), true},
		{"GET with Content-Length 0", "GET /a HTTP/1.1\r\nHost: shop\r\nContent-Length: 0\r\n\r\n", false},
		{"DELETE with a body", "DELETE /a HTTP/1.1\r\nHost: shop\r\nContent-Length: " + fmt.Sprint(len(smuggled)) + "\r\n\r\n" + smuggled, false},
		{"OPTIONS with a body", "OPTIONS /a HTTP/1.1\r\nHost: shop\r\nContent-Length: " + fmt.Sprint(len(smuggled)) + "\r\n\r\n" + smuggled, false},
		{"POST refused by the origin unread", "POST /deny HTTP/1.1\r\nHost: shop\r\nContent-Length: " + fmt.Sprint(len(smuggled)) + "\r\n\r\n" + smuggled, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			origin, _ := startBodyIgnoringOrigin(t)
			p := startProxy(t, origin, Options{})
			// Read as text: a response to HEAD has no body to parse.
			out := p.Raw(t, tt.raw)
			if refused := strings.HasPrefix(out, "HTTP/1.1 400 "); refused != tt.refused {
				t.Fatalf("refused %v, want %v: %q", refused, tt.refused, out)
			}
			// The next visitors must get their own answers, whatever the
			// origin made of the body it ignored.
			for i := range 3 {
				r := p.Get(t, "GET", fmt.Sprintf("/next%d", i))
				if want := fmt.Sprintf("GET /next%d HTTP/1.1", i); string(r.Body()) != want {
					t.Fatalf("visitor %d got %q, want %q", i, r.Body(), want)
				}
			}
		})
	}
}

func TestHTTPVersion(t *testing.T) {
	origin, tap := startTapOrigin(t)
	p := startProxy(t, origin, Options{})
	tests := []struct {
		proto string
		want  string
	}{
		{"HTTP/1.1", "HTTP/1.1 200 "},
		{"HTTP/1.0", "HTTP/1.1 200 "},
		{"HTTP/1.2", "HTTP/1.1 505 "},
		{"HTTP/1.9", "HTTP/1.1 505 "},
		{"HTTP/2.0", "HTTP/1.1 505 "},
		{"HTTP/0.9", "HTTP/1.1 505 "},
	}
	for _, tt := range tests {
		t.Run(tt.proto, func(t *testing.T) {
			out := p.Raw(t, "GET /"+tt.proto+" "+tt.proto+"\r\nHost: shop\r\n\r\n")
			if !strings.HasPrefix(out, tt.want) {
				t.Fatalf("got %q, want %q", out, tt.want)
			}
			if sent := strings.Contains(tap.wire(), "GET /"+tt.proto+" "); sent != (tt.want == "HTTP/1.1 200 ") {
				t.Fatalf("forwarded %v", sent)
			}
		})
	}
}

func TestChunkExtensionBounded(t *testing.T) {
	// fasthttp reads a chunk extension of any length; the proxy bounds what
	// one request may take on the wire, so a huge extension is refused
	// once past it instead of being read until ReadTimeout.
	rec := &recorder{}
	p := startProxy(t, proxytest.StartOrigin(t, rec.handler(nil)), Options{MaxRequestBody: 64 << 10, MaxHeaderBytes: 4 << 10})
	tests := []struct {
		name    string
		ext     int
		refused bool
	}{
		{"short extension", 100, false},
		{"1 MiB extension", 1 << 20, true},
		{"8 MiB extension", 8 << 20, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := net.Dial("tcp", p.Addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(10 * time.Second))
			start := time.Now()
			_, _ = io.WriteString(c, "POST /up HTTP/1.1\r\nHost: shop\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5;x=")
			ext := bytes.Repeat([]byte("a"), 32<<10)
			var werr error
			for sent := 0; sent < tt.ext && werr == nil; sent += len(ext) {
				_, werr = c.Write(ext[:min(len(ext), tt.ext-sent)])
			}
			if werr == nil {
				_, werr = io.WriteString(c, "\r\nhello\r\n0\r\n\r\n")
			}
			out, _ := io.ReadAll(c)
			refused := strings.HasPrefix(string(out), "HTTP/1.1 4")
			if refused != tt.refused {
				t.Fatalf("refused %v, want %v: %.80q (write %v)", refused, tt.refused, out, werr)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Fatalf("took %v", d)
			}
		})
	}
	if n := len(rec.requests()); n != 1 {
		t.Fatalf("origin got %d requests, want 1", n)
	}
}
