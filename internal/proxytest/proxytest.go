// Package proxytest owns what the tests and benchmarks of the request path
// share: origins on loopback or in memory, a server run for the length of a
// test, a client that reads whole responses, and the 61 KB listing page. It
// imports none of marquee's packages, so the proxy's own tests can use it.
package proxytest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"
)

// ListingPage is the 61 KB listing page of the shared test data, relative
// to a package directory one level below the repository root.
const ListingPage = "../../shared/testdata/pages/listing-61k.html"

// BenchPage reads ListingPage, or skips when the shared test data is absent.
func BenchPage(tb testing.TB) []byte {
	tb.Helper()
	page, err := os.ReadFile(ListingPage)
	if err != nil {
		tb.Skipf("page %s not available: %v", ListingPage, err)
	}
	return page
}

// StartOrigin serves h on a loopback port until the test ends and returns
// its base URL.
func StartOrigin(tb testing.TB, h fasthttp.RequestHandler) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	ServeOrigin(tb, ln, &fasthttp.Server{Handler: h, NoDefaultServerHeader: true, MaxRequestBodySize: 64 << 20, ReadBufferSize: 64 << 10})
	return "http://" + ln.Addr().String()
}

// ServeOrigin serves srv on ln until the test ends.
func ServeOrigin(tb testing.TB, ln net.Listener, srv *fasthttp.Server) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.ShutdownWithContext(ctx)
		// A Shutdown before Serve has taken ln closes nothing, and Serve
		// would then accept forever; closing ln ends it either way.
		_ = ln.Close()
		<-done
	})
}

// Server is what Serve needs of a proxy.
type Server interface {
	Serve(ln net.Listener) error
	Shutdown(ctx context.Context) error
}

// Serve runs s on a loopback port until the test ends, and returns a client
// for it. closed is the error Serve returns after Shutdown; any other is a
// test failure.
func Serve(tb testing.TB, s Server, closed error) *Client {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ln) }()
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			tb.Errorf("shutdown: %v", err)
		}
		if err := <-done; !errors.Is(err, closed) {
			tb.Errorf("Serve returned %v, want %v", err, closed)
		}
	})
	return &Client{Addr: ln.Addr().String()}
}

// Client sends requests to a server at Addr, one fresh connection pool per
// request so that no idle connection delays the server's shutdown.
type Client struct {
	Addr string
}

// Do sends req and returns the response, body fully read.
func (c *Client) Do(tb testing.TB, req *fasthttp.Request) *fasthttp.Response {
	tb.Helper()
	hc := &fasthttp.HostClient{Addr: c.Addr, ReadTimeout: 10 * time.Second, DisablePathNormalizing: true}
	defer hc.CloseIdleConnections()
	resp := &fasthttp.Response{}
	if err := hc.DoTimeout(req, resp, 10*time.Second); err != nil {
		tb.Fatalf("request to %s: %v", c.Addr, err)
	}
	return resp
}

// Get sends a request for path with extra headers given as "Name: value".
func (c *Client) Get(tb testing.TB, method, path string, headers ...string) *fasthttp.Response {
	tb.Helper()
	req := &fasthttp.Request{}
	req.Header.SetMethod(method)
	req.SetRequestURI("http://" + c.Addr + path)
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ":")
		req.Header.Add(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	return c.Do(tb, req)
}

// Raw writes b on a fresh connection, half-closes it, and returns
// everything the server sends back until it closes or 5 s pass.
func (c *Client) Raw(tb testing.TB, b string) string {
	tb.Helper()
	conn, err := net.Dial("tcp", c.Addr)
	if err != nil {
		tb.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(conn, b); err != nil {
		tb.Fatal(err)
	}
	_ = conn.(*net.TCPConn).CloseWrite()
	out, _ := io.ReadAll(conn)
	return string(out)
}

// ReadResponses parses every response in raw, at most ten.
func ReadResponses(tb testing.TB, raw string) []*fasthttp.Response {
	tb.Helper()
	br := bufio.NewReader(strings.NewReader(raw))
	var out []*fasthttp.Response
	for range 10 {
		if _, err := br.Peek(1); err != nil {
			break
		}
		r := &fasthttp.Response{}
		if err := r.Read(br); err != nil {
			tb.Fatalf("parse response %d: %v in %q", len(out), err, raw)
		}
		out = append(out, r)
	}
	return out
}

// WaitFor polls cond every few milliseconds for up to five seconds.
func WaitFor(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// LogBuffer collects log output safely across goroutines.
type LogBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (l *LogBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// String returns everything written so far.
func (l *LogBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// InmemoryOrigin serves h on an in-memory listener until the test ends. It
// returns the dialer a proxy reaches it with and a client that asks it
// directly, for a baseline without the proxy.
func InmemoryOrigin(tb testing.TB, h fasthttp.RequestHandler) (dial func(string) (net.Conn, error), direct *fasthttp.HostClient) {
	ln := fasthttputil.NewInmemoryListener()
	srv := &fasthttp.Server{Handler: h}
	go func() { _ = srv.Serve(ln) }()
	tb.Cleanup(func() { _ = srv.Shutdown() })
	dial = func(string) (net.Conn, error) { return ln.Dial() }
	return dial, &fasthttp.HostClient{Addr: "origin.test", Dial: dial, MaxConns: 1024}
}

// ServeInmemory runs s on an in-memory listener until the test ends and
// returns a client for it.
func ServeInmemory(tb testing.TB, s Server) *fasthttp.HostClient {
	ln := fasthttputil.NewInmemoryListener()
	go func() { _ = s.Serve(ln) }()
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.Shutdown(ctx)
	})
	return &fasthttp.HostClient{Addr: "proxy.test", Dial: func(string) (net.Conn, error) { return ln.Dial() }, MaxConns: 1024}
}

// PageHandler answers every request with page as cacheable HTML, in
// contentEncoding when it is not empty: the origin of the benchmarks.
func PageHandler(page []byte, contentEncoding string) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		ctx.SetContentType("text/html; charset=utf-8")
		ctx.Response.Header.Set("Cache-Control", "public, max-age=60")
		ctx.Response.Header.Set("ETag", `"listing"`)
		if contentEncoding != "" {
			ctx.Response.Header.SetContentEncoding(contentEncoding)
		}
		ctx.SetBody(page)
	}
}
