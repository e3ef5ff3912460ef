package proxy

import (
	"fmt"
	"io"
	"sync"

	"github.com/valyala/fasthttp"
)

// buffer is a pooled byte slice. Buffers larger than maxPooledBuffer are
// dropped rather than pooled so one huge page does not pin memory forever.
type buffer struct{ b []byte }

const maxPooledBuffer = 4 << 20

var buffers = sync.Pool{New: func() any { return &buffer{b: make([]byte, 0, 64<<10)} }}

func acquireBuffer() *buffer { return buffers.Get().(*buffer) }

// Write appends p to b, so that encoders can write into a pooled buffer.
func (b *buffer) Write(p []byte) (int, error) {
	b.b = append(b.b, p...)
	return len(p), nil
}

// Close returns b to the pool; it lets a response borrow b (see sendBuffer).
func (b *buffer) Close() error {
	releaseBuffer(b)
	return nil
}

func releaseBuffer(b *buffer) {
	if b == nil || cap(b.b) > maxPooledBuffer {
		return
	}
	b.b = b.b[:0]
	buffers.Put(b)
}

// readPrefix appends r to dst until EOF or until more than limit bytes
// have been read. complete reports EOF within the limit; otherwise dst holds
// the limit+1 bytes read so far and the rest is still in r.
func readPrefix(dst []byte, r io.Reader, limit int) (out []byte, complete bool, err error) {
	for {
		if len(dst) == cap(dst) {
			dst = append(dst, 0)[:len(dst)]
		}
		room := min(cap(dst), limit+1)
		if room <= len(dst) {
			return dst, false, nil
		}
		n, err := r.Read(dst[len(dst):room])
		dst = dst[:len(dst)+n]
		if err == io.EOF {
			return dst, len(dst) <= limit, nil
		}
		if err != nil {
			return dst, false, err
		}
		if len(dst) > limit {
			return dst, false, nil
		}
	}
}

// originBody relays an origin response body to the client. It is handed to
// fasthttp with SetBodyStream and read after the handler has returned, so it
// owns the origin *fasthttp.Response (whose connection the stream reads from)
// and an optional already-read prefix, and releases both in Close, which
// fasthttp calls exactly once when it is done with the response.
type originBody struct {
	srv    *Server
	resp   *fasthttp.Response
	stream io.Reader
	prefix *buffer
	off    int
	n      int // bytes relayed, for Options.MaxResponseBody
}

var originBodies = sync.Pool{New: func() any { return new(originBody) }}

// newOriginBody takes ownership of resp and prefix.
func newOriginBody(s *Server, resp *fasthttp.Response, prefix *buffer) *originBody {
	b := originBodies.Get().(*originBody)
	b.srv, b.resp, b.stream, b.prefix = s, resp, resp.BodyStream(), prefix
	if prefix != nil {
		b.n = len(prefix.b)
	}
	return b
}

// Read implements io.Reader. It runs on a fasthttp server goroutine outside
// any handler, so it recovers its own panics.
func (b *originBody) Read(p []byte) (n int, err error) {
	defer func() {
		if r := recover(); r != nil {
			b.srv.log.Error("proxy: panic relaying origin body", "panic", r)
			n, err = 0, fmt.Errorf("%w: panic relaying body: %v", ErrInternal, r)
		}
	}()
	if b.prefix != nil && b.off < len(b.prefix.b) {
		n = copy(p, b.prefix.b[b.off:])
		b.off += n
		return n, nil
	}
	if b.stream == nil {
		return 0, io.EOF
	}
	n, err = b.stream.Read(p)
	b.n += n
	if b.n > b.srv.opts.MaxResponseBody {
		// The status line is already sent: cutting the body is the only
		// honest signal left (RFC 9112 §8).
		return n, fmt.Errorf("%w: body exceeds %d bytes", ErrOriginResponse, b.srv.opts.MaxResponseBody)
	}
	return n, err
}

// WriteTo relays through pooled buffers, each write bypassing the
// connection's smaller write buffer. Every write costs a system call that
// also runs the receiving side of TCP, so a large download goes through
// large buffers: a 1 MB body relayed through 256 KiB took 45% less CPU than
// through 64 KiB. A body of unknown length may be an event stream or a long
// poll held open for hours, a few bytes at a time; thousands of those must
// not pin 256 KiB each.
var (
	largeCopyBuffers = sync.Pool{New: func() any { b := make([]byte, 256<<10); return &b }}
	smallCopyBuffers = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}
)

// SupportsBodyWriteTo tells fasthttp to relay the body with WriteTo.
func (b *originBody) SupportsBodyWriteTo() bool { return true }

// WriteTo implements io.WriterTo: the prefix, then the stream through a
// pooled buffer, with the same limit and panic recovery as Read.
func (b *originBody) WriteTo(w io.Writer) (written int64, err error) {
	defer func() {
		if r := recover(); r != nil {
			b.srv.log.Error("proxy: panic relaying origin body", "panic", r)
			err = fmt.Errorf("%w: panic relaying body: %v", ErrInternal, r)
		}
	}()
	if b.prefix != nil && b.off < len(b.prefix.b) {
		n, err := w.Write(b.prefix.b[b.off:])
		b.off += n
		written += int64(n)
		if err != nil {
			return written, err
		}
	}
	if b.stream == nil {
		return written, nil
	}
	pool := &smallCopyBuffers
	if b.resp != nil && b.resp.Header.ContentLength() > maxBufferedBody {
		pool = &largeCopyBuffers
	}
	bp := pool.Get().(*[]byte)
	defer pool.Put(bp)
	buf := *bp
	for {
		n, rerr := b.stream.Read(buf)
		if n > 0 {
			b.n += n
			if b.n > b.srv.opts.MaxResponseBody {
				return written, fmt.Errorf("%w: body exceeds %d bytes", ErrOriginResponse, b.srv.opts.MaxResponseBody)
			}
			nw, werr := w.Write(buf[:n])
			written += int64(nw)
			if werr != nil {
				return written, werr
			}
		}
		if rerr == io.EOF {
			return written, nil
		}
		if rerr != nil {
			return written, rerr
		}
	}
}

// Close releases the origin response and its connection. An unfinished
// body closes the origin connection rather than reusing it.
func (b *originBody) Close() (err error) {
	defer func() {
		if r := recover(); r != nil {
			b.srv.log.Error("proxy: panic closing origin body", "panic", r)
			err = fmt.Errorf("%w: panic closing body: %v", ErrInternal, r)
		}
	}()
	if b.resp != nil {
		err = b.resp.CloseBodyStream()
		fasthttp.ReleaseResponse(b.resp)
	}
	releaseBuffer(b.prefix)
	*b = originBody{}
	originBodies.Put(b)
	return err
}

// Interface guards.
var (
	_ io.ReadCloser         = (*originBody)(nil)
	_ fasthttp.BodyWriterTo = (*originBody)(nil)
)
