package proxy

import (
	"errors"
	"net"
	"os"

	"github.com/valyala/fasthttp"
)

// Errors returned or logged by the proxy. statusFor is the one place that
// turns them into HTTP statuses.
var (
	// ErrInvalidOptions is returned by New when Options cannot be used.
	ErrInvalidOptions = errors.New("proxy: invalid options")

	// ErrServerClosed is returned by Serve after Shutdown.
	ErrServerClosed = errors.New("proxy: server closed")

	// ErrOriginUnreachable means no response came from the origin: the
	// connection was refused, reset or closed early. Answered with 502.
	ErrOriginUnreachable = errors.New("proxy: origin unreachable")

	// ErrOriginTimeout means the origin did not answer within
	// Options.OriginTimeout. Answered with 504.
	ErrOriginTimeout = errors.New("proxy: origin timeout")

	// ErrOriginResponse means the origin's response could not be relayed:
	// malformed, or larger than Options.MaxResponseBody. Answered with 502.
	ErrOriginResponse = errors.New("proxy: bad origin response")

	// ErrBadRequest means the client's request is malformed or its framing
	// is ambiguous (RFC 9112 §6.3, §11.2). Answered with 400.
	ErrBadRequest = errors.New("proxy: bad request")

	// ErrHTTPVersion means the request line names an HTTP version other
	// than 1.0 and 1.1. Answered with 505.
	ErrHTTPVersion = errors.New("proxy: HTTP version not supported")

	// ErrHeaderTooLarge means the request head exceeds
	// Options.MaxHeaderBytes. Answered with 431 (RFC 6585 §5).
	ErrHeaderTooLarge = errors.New("proxy: request header too large")

	// ErrBodyTooLarge means the request body exceeds
	// Options.MaxRequestBody. Answered with 413.
	ErrBodyTooLarge = errors.New("proxy: request body too large")

	// ErrRequestTimeout means the client did not send its request within
	// Options.ReadTimeout. Answered with 408.
	ErrRequestTimeout = errors.New("proxy: request timeout")

	// ErrRewrite wraps an error or panic of the rewrite stage. It never
	// reaches the client: the origin's response is served instead.
	ErrRewrite = errors.New("proxy: rewrite failed")

	// ErrInternal wraps a panic in the proxy itself. Answered with 500.
	ErrInternal = errors.New("proxy: internal error")
)

// statusFor maps an error to the status the client receives. It is the only
// place that does so.
func statusFor(err error) int {
	switch {
	case err == nil:
		return fasthttp.StatusOK
	case errors.Is(err, ErrOriginTimeout):
		return fasthttp.StatusGatewayTimeout
	case errors.Is(err, ErrOriginUnreachable), errors.Is(err, ErrOriginResponse):
		return fasthttp.StatusBadGateway
	case errors.Is(err, ErrHeaderTooLarge):
		return fasthttp.StatusRequestHeaderFieldsTooLarge
	case errors.Is(err, ErrBodyTooLarge):
		return fasthttp.StatusRequestEntityTooLarge
	case errors.Is(err, ErrRequestTimeout):
		return fasthttp.StatusRequestTimeout
	case errors.Is(err, ErrHTTPVersion):
		return fasthttp.StatusHTTPVersionNotSupported
	case errors.Is(err, ErrBadRequest):
		return fasthttp.StatusBadRequest
	default:
		return fasthttp.StatusInternalServerError
	}
}

// classifyOrigin wraps an error from the origin client in the sentinel that
// decides its status: a timeout anywhere is 504, everything else 502.
func classifyOrigin(err error) error {
	if err == nil {
		return nil
	}
	if isTimeout(err) {
		return errors.Join(ErrOriginTimeout, err)
	}
	var small *fasthttp.ErrSmallBuffer
	if errors.Is(err, fasthttp.ErrBodyTooLarge) || errors.As(err, &small) {
		return errors.Join(ErrOriginResponse, err)
	}
	return errors.Join(ErrOriginUnreachable, err)
}

// classifyClient wraps an error fasthttp met while reading a client request.
func classifyClient(err error) error {
	var small *fasthttp.ErrSmallBuffer
	switch {
	case errors.As(err, &small):
		return errors.Join(ErrHeaderTooLarge, err)
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		return errors.Join(ErrBodyTooLarge, err)
	case isTimeout(err):
		return errors.Join(ErrRequestTimeout, err)
	default:
		return errors.Join(ErrBadRequest, err)
	}
}

func isTimeout(err error) bool {
	if errors.Is(err, fasthttp.ErrTimeout) || errors.Is(err, fasthttp.ErrDialTimeout) ||
		errors.Is(err, os.ErrDeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// errorPages holds the short HTML body of every status the proxy generates,
// built once so that writing one needs no formatting.
var errorPages = func() map[int][]byte {
	m := make(map[int][]byte)
	for _, code := range []int{400, 408, 413, 431, 500, 502, 504, 505} {
		line := itoa3(code) + " " + fasthttp.StatusMessage(code)
		m[code] = []byte("<!doctype html><html><head><title>" + line +
			"</title></head><body><h1>" + line + "</h1></body></html>\n")
	}
	return m
}()

func itoa3(n int) string {
	return string([]byte{byte('0' + n/100), byte('0' + n/10%10), byte('0' + n%10)})
}

// writeError replaces whatever response ctx holds with the error page for
// err's status.
func writeError(ctx *fasthttp.RequestCtx, err error) int {
	code := statusFor(err)
	ctx.Response.Reset()
	ctx.Response.SetStatusCode(code)
	ctx.Response.Header.SetContentType("text/html; charset=utf-8")
	ctx.Response.Header.Set(fasthttp.HeaderCacheControl, "no-store")
	body, ok := errorPages[code]
	if !ok {
		body = errorPages[fasthttp.StatusInternalServerError]
	}
	ctx.Response.SetBody(body)
	return code
}
