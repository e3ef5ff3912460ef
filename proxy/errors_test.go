package proxy

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"
)

func TestStatusFor(t *testing.T) {
	tests := []struct {
		err  error
		want int
	}{
		{nil, 200},
		{ErrOriginTimeout, 504},
		{ErrOriginUnreachable, 502},
		{ErrOriginResponse, 502},
		{ErrHeaderTooLarge, 431},
		{ErrBodyTooLarge, 413},
		{ErrRequestTimeout, 408},
		{ErrBadRequest, 400},
		{ErrInternal, 500},
		{errors.New("anything else"), 500},
		{fmt.Errorf("wrapped: %w", ErrOriginTimeout), 504},
	}
	for _, tt := range tests {
		if got := statusFor(tt.err); got != tt.want {
			t.Errorf("statusFor(%v): got %d, want %d", tt.err, got, tt.want)
		}
	}
}

func TestClassify(t *testing.T) {
	opErr := &net.OpError{Op: "dial", Net: "tcp", Err: os.ErrDeadlineExceeded}
	tests := []struct {
		name   string
		err    error
		origin bool
		want   int
	}{
		{"origin timeout", fasthttp.ErrTimeout, true, 504},
		{"origin dial timeout", fasthttp.ErrDialTimeout, true, 504},
		{"origin net timeout", opErr, true, 504},
		{"origin refused", errors.New("dial tcp: connection refused"), true, 502},
		{"origin closed early", fasthttp.ErrConnectionClosed, true, 502},
		{"origin too big", fasthttp.ErrBodyTooLarge, true, 502},
		{"client header", &fasthttp.ErrSmallBuffer{}, false, 431},
		{"client body", fasthttp.ErrBodyTooLarge, false, 413},
		{"client slow", opErr, false, 408},
		{"client garbage", io.ErrUnexpectedEOF, false, 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			if tt.origin {
				err = classifyOrigin(tt.err)
			} else {
				err = classifyClient(tt.err)
			}
			if got := statusFor(err); got != tt.want {
				t.Fatalf("got %d, want %d (%v)", got, tt.want, err)
			}
			if !errors.Is(err, tt.err) {
				t.Fatalf("cause lost: %v", err)
			}
		})
	}
	if classifyOrigin(nil) != nil {
		t.Fatal("nil error classified")
	}
}

func TestErrorPages(t *testing.T) {
	for code, body := range errorPages {
		if !strings.Contains(string(body), fmt.Sprint(code)) || len(body) > 200 {
			t.Errorf("%d: page %q", code, body)
		}
	}
	var ctx fasthttp.RequestCtx
	if got := writeError(&ctx, errors.New("x")); got != 500 || ctx.Response.StatusCode() != 500 {
		t.Fatalf("got %d", got)
	}
	if string(ctx.Response.Header.Peek("Cache-Control")) != "no-store" {
		t.Fatal("error page may be cached")
	}
}

func TestErrorSentinelsPrefixed(t *testing.T) {
	for _, err := range []error{ErrInvalidOptions, ErrServerClosed, ErrOriginUnreachable, ErrOriginTimeout, ErrOriginResponse, ErrBadRequest, ErrHeaderTooLarge, ErrBodyTooLarge, ErrRequestTimeout, ErrRewrite, ErrInternal} {
		if !strings.HasPrefix(err.Error(), "proxy: ") {
			t.Errorf("%q lacks the package prefix", err)
		}
	}
}
