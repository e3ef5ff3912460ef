package proxy

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/marquee-proxy/marquee/internal/proxytest"

	"github.com/valyala/fasthttp"
)

func TestReadPrefix(t *testing.T) {
	tests := []struct {
		name         string
		body         string
		limit        int
		wantComplete bool
		wantLen      int
	}{
		{"empty", "", 10, true, 0},
		{"under", "hello", 10, true, 5},
		{"exact", "0123456789", 10, true, 10},
		{"over by one", "0123456789a", 10, false, 11},
		{"far over", strings.Repeat("x", 100000), 1000, false, 1001},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// One byte at a time exercises every short read.
			r := iotest.OneByteReader(strings.NewReader(tt.body))
			got, complete, err := readPrefix(make([]byte, 0, 4), r, tt.limit)
			if err != nil {
				t.Fatal(err)
			}
			if complete != tt.wantComplete || len(got) != tt.wantLen || !strings.HasPrefix(tt.body, string(got)) {
				t.Fatalf("got complete=%v len=%d, want %v %d", complete, len(got), tt.wantComplete, tt.wantLen)
			}
		})
	}
	if _, _, err := readPrefix(nil, iotest.ErrReader(io.ErrUnexpectedEOF), 10); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("got %v, want the reader's error", err)
	}
}

type panicReader struct{}

func (panicReader) Read([]byte) (int, error) { panic("reader exploded") }

func testServer(t testing.TB, opts Options) *Server {
	t.Helper()
	if len(opts.Origins) == 0 {
		opts.Origins = []string{"http://127.0.0.1:1"}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	s, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestOriginBodyRecoversPanics(t *testing.T) {
	s := testServer(t, Options{})
	resp := fasthttp.AcquireResponse()
	b := newOriginBody(s, resp, nil)
	b.stream = panicReader{}
	if _, err := b.Read(make([]byte, 10)); !errors.Is(err, ErrInternal) {
		t.Fatalf("got %v, want ErrInternal", err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestOriginBodyPrefixThenStreamAndLimit(t *testing.T) {
	s := testServer(t, Options{MaxResponseBody: 12})
	prefix := acquireBuffer()
	prefix.b = append(prefix.b, "hello "...)
	b := newOriginBody(s, fasthttp.AcquireResponse(), prefix)
	b.stream = strings.NewReader("world")
	got, err := io.ReadAll(b)
	if err != nil || string(got) != "hello world" {
		t.Fatalf("got %q, %v", got, err)
	}
	_ = b.Close()

	prefix = acquireBuffer()
	prefix.b = append(prefix.b, "hello "...)
	b = newOriginBody(s, fasthttp.AcquireResponse(), prefix)
	b.stream = strings.NewReader("world, and more")
	if _, err := io.ReadAll(b); !errors.Is(err, ErrOriginResponse) {
		t.Fatalf("over MaxResponseBody: got %v, want ErrOriginResponse", err)
	}
	_ = b.Close()
}

func TestHandlerRecoversPanics(t *testing.T) {
	// A dialer that panics runs inside the handler: the request gets a
	// 500, the server keeps serving.
	logs := &proxytest.LogBuffer{}
	p := startProxy(t, "", Options{
		Origins: []string{"http://origin.test"},
		Dial:    func(string) (net.Conn, error) { panic("dialer exploded") },
		Logger:  slog.New(slog.NewTextHandler(logs, nil)),
	})
	for range 2 {
		r := p.Get(t, "GET", "/")
		if r.StatusCode() != fasthttp.StatusInternalServerError {
			t.Fatalf("got %d, want 500", r.StatusCode())
		}
	}
	if !strings.Contains(logs.String(), "dialer exploded") {
		t.Fatalf("panic not logged: %s", logs.String())
	}
}

func TestOriginStallsMidBody(t *testing.T) {
	// Headers arrive, the body does not: an eligible page read in full
	// times out before anything is sent, so the client gets 504.
	release := make(chan struct{})
	origin := proxytest.StartOrigin(t, func(ctx *fasthttp.RequestCtx) {
		ctx.SetContentType("text/html")
		ctx.SetBodyStreamWriter(func(w *bufio.Writer) {
			_, _ = w.WriteString("<html>partial")
			_ = w.Flush()
			select {
			case <-release:
			case <-time.After(5 * time.Second):
			}
		})
	})
	// Registered after startOrigin so it runs before the origin's shutdown.
	t.Cleanup(func() { close(release) })
	p := startProxy(t, origin, Options{OriginTimeout: 300 * time.Millisecond, Rewriter: IdentityRewriter{}})
	r := p.Get(t, "GET", "/")
	if r.StatusCode() != fasthttp.StatusGatewayTimeout {
		t.Fatalf("got %d %q, want 504", r.StatusCode(), r.Body())
	}
	if !bytes.Contains(r.Body(), []byte("504")) {
		t.Fatalf("got body %q", r.Body())
	}
}

func TestOriginBodyWriteTo(t *testing.T) {
	s := testServer(t, Options{MaxResponseBody: 12})
	tests := []struct {
		name    string
		stream  io.Reader
		want    string
		wantErr error
	}{
		{"prefix and stream", strings.NewReader("world"), "hello world", nil},
		{"over the limit", strings.NewReader("world, and more"), "hello ", ErrOriginResponse},
		{"panicking stream", panicReader{}, "hello ", ErrInternal},
		{"failing stream", iotest.ErrReader(io.ErrUnexpectedEOF), "hello ", io.ErrUnexpectedEOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prefix := acquireBuffer()
			prefix.b = append(prefix.b, "hello "...)
			b := newOriginBody(s, fasthttp.AcquireResponse(), prefix)
			b.stream = tt.stream
			var out bytes.Buffer
			_, err := b.WriteTo(&out)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Errorf("got error %v, want %v", err, tt.wantErr)
			}
			if out.String() != tt.want {
				t.Errorf("got %q, want %q", out.String(), tt.want)
			}
			if err := b.Close(); err != nil {
				t.Fatal(err)
			}
		})
	}
}
