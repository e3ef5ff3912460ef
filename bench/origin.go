package bench

import (
	"bytes"
	"encoding/hex"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/valyala/fasthttp"
)

// OriginOptions configures the origin simulator.
type OriginOptions struct {
	// Page is the HTML body served for every GET. Required.
	Page []byte
	// Gzip serves the page gzip-encoded to requests whose Accept-Encoding
	// names gzip, as many shops' servers do.
	Gzip bool
	// Nonce rewrites a NonceLen-byte token in a csrf-token meta tag on
	// every response (inserting the tag when the page lacks one), so that
	// no two responses are equal, as with per-request CSRF tokens.
	Nonce bool
	// MaxAge is the freshness the page allows shared caches
	// ("Cache-Control: public, max-age=…"). Zero means one minute. A page
	// with a nonce is "private, no-store" whatever MaxAge says.
	MaxAge time.Duration
}

// Origin is the origin simulator: a fasthttp server on loopback serving one
// page, as a shop's server would, at a small and steady cost.
type Origin struct {
	srv   *fasthttp.Server
	ln    net.Listener
	page  []byte
	gz    []byte
	off   int // of the nonce in page; -1 without
	opts  OriginOptions
	cc    []byte // Cache-Control of the page without a nonce
	seq   atomic.Uint64
	bufs  sync.Pool // *originBuf
	count atomic.Uint64
}

type originBuf struct {
	b  []byte
	gz bytes.Buffer
	zw *gzip.Writer
}

// StartOrigin starts the simulator on a free loopback port.
func StartOrigin(opts OriginOptions) (*Origin, error) {
	o := &Origin{page: opts.Page, off: -1, opts: opts}
	maxAge := opts.MaxAge
	if maxAge <= 0 {
		maxAge = time.Minute
	}
	o.cc = strconv.AppendInt([]byte("public, max-age="), int64(maxAge/time.Second), 10)
	if opts.Nonce {
		o.page, o.off = WithNonce(opts.Page)
	}
	if opts.Gzip && !opts.Nonce {
		o.gz = gzipBytes(o.page)
	}
	o.bufs.New = func() any {
		ob := &originBuf{}
		// Fastest level: a page compressed per request must not make the
		// origin the bottleneck.
		ob.zw, _ = gzip.NewWriterLevel(&ob.gz, gzip.BestSpeed)
		return ob
	}
	o.srv = &fasthttp.Server{
		Handler:                       o.serve,
		Name:                          "bench-origin",
		NoDefaultDate:                 true,
		DisableHeaderNamesNormalizing: true,
		ReadTimeout:                   30 * time.Second,
		IdleTimeout:                   time.Minute,
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	o.ln = ln
	go func() { _ = o.srv.Serve(ln) }()
	return o, nil
}

// URL returns the origin's base URL.
func (o *Origin) URL() string { return "http://" + o.ln.Addr().String() }

// Addr returns the origin's host:port.
func (o *Origin) Addr() string { return o.ln.Addr().String() }

// Page returns the page as served, before any nonce is filled in. The
// caller must not modify it.
func (o *Origin) Page() []byte { return o.page }

// Requests returns how many requests the origin has answered.
func (o *Origin) Requests() uint64 { return o.count.Load() }

// Close stops the origin.
func (o *Origin) Close() error {
	err := o.srv.Shutdown()
	// fasthttp's Shutdown closes only a listener Serve has already taken.
	_ = o.ln.Close()
	return err
}

var strGzip = []byte("gzip")

func (o *Origin) serve(ctx *fasthttp.RequestCtx) {
	o.count.Add(1)
	ctx.SetContentType("text/html; charset=utf-8")
	wantGzip := o.opts.Gzip && bytes.Contains(ctx.Request.Header.Peek(fasthttp.HeaderAcceptEncoding), strGzip)
	if wantGzip {
		ctx.Response.Header.Set(fasthttp.HeaderVary, "Accept-Encoding")
	}
	if o.off < 0 {
		ctx.Response.Header.SetBytesV(fasthttp.HeaderCacheControl, o.cc)
		ctx.Response.Header.Set(fasthttp.HeaderETag, `"bench-page"`)
		if wantGzip {
			ctx.Response.Header.SetContentEncoding("gzip")
			ctx.Response.SetBodyRaw(o.gz)
			return
		}
		ctx.Response.SetBodyRaw(o.page)
		return
	}
	ctx.Response.Header.Set(fasthttp.HeaderCacheControl, "private, no-store")
	ob := o.bufs.Get().(*originBuf)
	defer o.bufs.Put(ob)
	ob.b = append(ob.b[:0], o.page...)
	var tok [NonceLen / 2]byte
	seq := o.seq.Add(1)
	for i := range 8 {
		tok[i] = byte(seq >> (8 * i))
	}
	// The rest varies too, so that no two tokens share a long prefix.
	for i := 8; i < len(tok); i++ {
		tok[i] = byte(seq*0x9e3779b97f4a7c15>>(8*(i-8))) ^ byte(i)
	}
	hex.Encode(ob.b[o.off:o.off+NonceLen], tok[:])
	if wantGzip {
		ob.gz.Reset()
		ob.zw.Reset(&ob.gz)
		_, _ = ob.zw.Write(ob.b)
		_ = ob.zw.Close()
		ctx.Response.Header.SetContentEncoding("gzip")
		ctx.Response.SetBody(ob.gz.Bytes())
		return
	}
	ctx.Response.SetBody(ob.b)
}

func gzipBytes(b []byte) []byte {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.DefaultCompression)
	_, _ = zw.Write(b)
	_ = zw.Close()
	return buf.Bytes()
}
