package proxy

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"
)

// startOrigin serves h on a loopback port and returns its base URL.
func startOrigin(t testing.TB, h fasthttp.RequestHandler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	serveOrigin(t, ln, &fasthttp.Server{Handler: h, NoDefaultServerHeader: true, MaxRequestBodySize: 64 << 20, ReadBufferSize: 64 << 10})
	return "http://" + ln.Addr().String()
}

// serveOrigin serves srv on ln until the test ends.
func serveOrigin(t testing.TB, ln net.Listener, srv *fasthttp.Server) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.ShutdownWithContext(ctx)
		// A Shutdown before Serve has taken ln closes nothing, and Serve
		// would then accept forever; closing ln ends it either way.
		_ = ln.Close()
		<-done
	})
}

// logBuffer collects log output safely across goroutines.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// testProxy is a running proxy on loopback.
type testProxy struct {
	srv  *Server
	addr string
	logs *logBuffer
}

// startProxy starts a proxy in front of origin with opts (Origins filled in
// when empty).
func startProxy(t testing.TB, origin string, opts Options) *testProxy {
	t.Helper()
	if len(opts.Origins) == 0 {
		opts.Origins = []string{origin}
	}
	logs := &logBuffer{}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	s, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if err := <-done; !errors.Is(err, ErrServerClosed) {
			t.Errorf("Serve returned %v, want ErrServerClosed", err)
		}
	})
	waitFor(t, "proxy address", func() bool { return s.Addr() != nil })
	return &testProxy{srv: s, addr: ln.Addr().String(), logs: logs}
}

// waitFor polls cond every few milliseconds for up to five seconds.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// do sends req to the proxy and returns the response, body fully read.
func (p *testProxy) do(t testing.TB, req *fasthttp.Request) *fasthttp.Response {
	t.Helper()
	c := &fasthttp.HostClient{Addr: p.addr, ReadTimeout: 10 * time.Second, DisablePathNormalizing: true}
	defer c.CloseIdleConnections() // lets Shutdown finish without waiting
	resp := &fasthttp.Response{}
	if err := c.DoTimeout(req, resp, 10*time.Second); err != nil {
		t.Fatalf("request to proxy: %v", err)
	}
	return resp
}

// get is do for a GET of path with extra headers given as "Name: value".
func (p *testProxy) get(t testing.TB, method, path string, headers ...string) *fasthttp.Response {
	t.Helper()
	req := &fasthttp.Request{}
	req.Header.SetMethod(method)
	req.SetRequestURI("http://" + p.addr + path)
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ":")
		req.Header.Add(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	return p.do(t, req)
}

// raw writes b to the proxy on a fresh connection, half-closes it, and
// returns everything the proxy sends back until it closes or 5 s pass.
func (p *testProxy) raw(t testing.TB, b string) string {
	t.Helper()
	c, err := net.Dial("tcp", p.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, b); err != nil {
		t.Fatal(err)
	}
	_ = c.(*net.TCPConn).CloseWrite()
	out, _ := io.ReadAll(c)
	return string(out)
}

// readResponses parses every response in raw.
func readResponses(t testing.TB, raw string) []*fasthttp.Response {
	t.Helper()
	br := bufio.NewReader(strings.NewReader(raw))
	var out []*fasthttp.Response
	for range 10 {
		if _, err := br.Peek(1); err != nil {
			break
		}
		r := &fasthttp.Response{}
		if err := r.Read(br); err != nil {
			t.Fatalf("parse response %d: %v in %q", len(out), err, raw)
		}
		out = append(out, r)
	}
	return out
}

func TestNewValidatesOptions(t *testing.T) {
	tests := []struct {
		name string
		opts Options
	}{
		{"no origin", Options{}},
		{"bad scheme", Options{Origins: []string{"ftp://127.0.0.1"}}},
		{"path", Options{Origins: []string{"http://127.0.0.1/shop"}}},
		{"user info", Options{Origins: []string{"http://u:p@127.0.0.1"}}},
		{"mixed schemes", Options{Origins: []string{"http://a", "https://b"}}},
		{"gzip level", Options{Origins: []string{"http://a"}, GzipLevel: 12}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := New(tt.opts); !errors.Is(err, ErrInvalidOptions) {
				t.Fatalf("got %v, want ErrInvalidOptions", err)
			}
		})
	}
}

func TestNewDefaults(t *testing.T) {
	s, err := New(Options{Origins: []string{"https://shop.example"}})
	if err != nil {
		t.Fatal(err)
	}
	if s.opts.MaxRequestBody != 8<<20 || s.opts.ReadTimeout == 0 || s.opts.MaxHeaderBytes == 0 {
		t.Fatalf("defaults not applied: %+v", s.opts)
	}
	if got, want := s.origins[0].addr, "shop.example:443"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	if s.Addr() != nil {
		t.Fatal("Addr before Serve should be nil")
	}
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal("second Shutdown:", err)
	}
	if err := s.Serve(nil); !errors.Is(err, ErrServerClosed) {
		t.Fatalf("Serve after Shutdown: got %v", err)
	}
}

func TestShutdownIdempotent(t *testing.T) {
	origin := startOrigin(t, func(ctx *fasthttp.RequestCtx) { ctx.SetBodyString("ok") })
	p := startProxy(t, origin, Options{})
	if r := p.get(t, "GET", "/"); string(r.Body()) != "ok" {
		t.Fatalf("got %q", r.Body())
	}
	for range 2 {
		if err := p.srv.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
}

func TestSharedRegistryTwice(t *testing.T) {
	reg := prometheus.NewRegistry()
	if _, err := New(Options{Origins: []string{"http://a"}, Registry: reg}); err != nil {
		t.Fatal(err)
	}
	if _, err := New(Options{Origins: []string{"http://a"}, Registry: reg}); !errors.Is(err, ErrInvalidOptions) {
		t.Fatalf("second server on one registry: got %v, want ErrInvalidOptions", err)
	}
}

func TestListenAndServe(t *testing.T) {
	origin := startOrigin(t, func(ctx *fasthttp.RequestCtx) { ctx.SetBodyString("ok") })
	s, err := New(Options{Listen: "127.0.0.1:0", Origins: []string{origin}})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.ListenAndServe() }()
	waitFor(t, "listener", func() bool { return s.Addr() != nil })
	if err := s.Serve(nil); err == nil {
		t.Fatal("second Serve succeeded")
	}
	status, body, err := fasthttp.Get(nil, "http://"+s.Addr().String()+"/")
	if err != nil || status != 200 || string(body) != "ok" {
		t.Fatalf("got %d %q %v", status, body, err)
	}
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := <-done; !errors.Is(err, ErrServerClosed) {
		t.Fatalf("got %v, want ErrServerClosed", err)
	}
}

func TestDefaultOptions(t *testing.T) {
	o := DefaultOptions()
	if o.MaxRequestBody != DefaultMaxRequestBody || o.OriginTimeout != DefaultOriginTimeout || o.Logger != nil {
		t.Fatalf("got %+v", o)
	}
	o.Origins = []string{"http://127.0.0.1:1"}
	if _, err := New(o); err != nil {
		t.Fatal(err)
	}
}
