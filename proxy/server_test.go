package proxy

import (
	"context"
	"errors"
	"log/slog"
	"testing"

	"github.com/marquee-proxy/marquee/internal/proxytest"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"
)

// testProxy is a running proxy on loopback.
type testProxy struct {
	*proxytest.Client
	srv  *Server
	logs *proxytest.LogBuffer
}

// startProxy starts a proxy in front of origin with opts (Origins filled in
// when empty).
func startProxy(t testing.TB, origin string, opts Options) *testProxy {
	t.Helper()
	if len(opts.Origins) == 0 {
		opts.Origins = []string{origin}
	}
	logs := &proxytest.LogBuffer{}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	s, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	c := proxytest.Serve(t, s, ErrServerClosed)
	proxytest.WaitFor(t, "proxy address", func() bool { return s.Addr() != nil })
	return &testProxy{Client: c, srv: s, logs: logs}
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
	origin := proxytest.StartOrigin(t, func(ctx *fasthttp.RequestCtx) { ctx.SetBodyString("ok") })
	p := startProxy(t, origin, Options{})
	if r := p.Get(t, "GET", "/"); string(r.Body()) != "ok" {
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
	origin := proxytest.StartOrigin(t, func(ctx *fasthttp.RequestCtx) { ctx.SetBodyString("ok") })
	s, err := New(Options{Listen: "127.0.0.1:0", Origins: []string{origin}})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.ListenAndServe() }()
	proxytest.WaitFor(t, "listener", func() bool { return s.Addr() != nil })
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
	if o.MaxRequestBody != DefaultMaxRequestBody || o.OriginTimeout != DefaultOriginTimeout || o.Logger != nil ||
		o.HeaderTimeout != DefaultHeaderTimeout || o.MaxConnsPerIP != DefaultMaxConnsPerIP {
		t.Fatalf("got %+v", o)
	}
	o.Origins = []string{"http://127.0.0.1:1"}
	if _, err := New(o); err != nil {
		t.Fatal(err)
	}
}
