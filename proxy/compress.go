package proxy

import (
	"bytes"
	"errors"
	"io"
	"sync"

	"github.com/marquee-proxy/marquee/internal/httpfield"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/gzip"

	"github.com/marquee-proxy/marquee/inject"
)

// coding is a content coding the proxy can decode and produce
// (RFC 9110 §8.4.1).
type coding uint8

const (
	codingIdentity coding = iota
	codingGzip
	codingBrotli
	codingUnknown
)

// String returns the coding's token as used in Content-Encoding.
func (c coding) String() string {
	switch c {
	case codingIdentity:
		return "identity"
	case codingGzip:
		return "gzip"
	case codingBrotli:
		return "br"
	default:
		return "unknown"
	}
}

var (
	strGzip     = []byte("gzip")
	strXGzip    = []byte("x-gzip")
	strBr       = []byte("br")
	strIdentity = []byte("identity")
)

// errDecodedTooLarge means a compressed body expands past the rewrite limit;
// the page is then served as received.
var errDecodedTooLarge = errors.New("proxy: decoded body exceeds rewrite limit")

// parseContentEncoding maps a Content-Encoding value to a coding. Stacked
// codings ("gzip, br") are reported unknown: they are passed through.
func parseContentEncoding(v []byte) coding {
	v = httpfield.TrimOWS(v)
	switch {
	case len(v) == 0 || bytes.EqualFold(v, strIdentity):
		return codingIdentity
	case bytes.EqualFold(v, strGzip) || bytes.EqualFold(v, strXGzip):
		return codingGzip
	case bytes.EqualFold(v, strBr):
		return codingBrotli
	default:
		return codingUnknown
	}
}

// negotiate picks the coding for a body the proxy produces from the
// client's Accept-Encoding (RFC 9110 §12.5.3): highest qvalue wins, q=0 means
// not acceptable, "*" covers codings not listed, and ties prefer gzip, then
// br, then identity. Gzip wins ties because the body is compressed per
// request and brotli costs several times the CPU for some 15% fewer bytes
// (BenchmarkEncode). No header means identity.
func negotiate(ae []byte) coding {
	const unset = -1
	qBr, qGzip, qIdentity, qStar := unset, unset, unset, unset
	for tok, rest := httpfield.Next(ae); tok != nil || len(rest) > 0; tok, rest = httpfield.Next(rest) {
		if len(tok) == 0 {
			continue
		}
		name, params := tok, []byte(nil)
		if i := bytes.IndexByte(tok, ';'); i >= 0 {
			name, params = httpfield.TrimOWS(tok[:i]), tok[i+1:]
		}
		q := httpfield.ParseQ(params)
		switch {
		case bytes.EqualFold(name, strBr):
			qBr = q
		case bytes.EqualFold(name, strGzip) || bytes.EqualFold(name, strXGzip):
			qGzip = q
		case bytes.EqualFold(name, strIdentity):
			qIdentity = q
		case len(name) == 1 && name[0] == '*':
			qStar = q
		}
	}
	if qBr == unset {
		qBr = max(qStar, 0)
	}
	if qGzip == unset {
		qGzip = max(qStar, 0)
	}
	if qIdentity == unset {
		qIdentity = 1
	}
	switch {
	case qGzip > 0 && qGzip >= qBr && qGzip >= qIdentity:
		return codingGzip
	case qBr > 0 && qBr >= qIdentity:
		return codingBrotli
	default:
		return codingIdentity
	}
}

var (
	gzipReaders   sync.Pool // *gzip.Reader
	brotliReaders sync.Pool // *brotli.Reader
	bytesReaders  = sync.Pool{New: func() any { return new(bytes.Reader) }}
)

// appendDecoded appends src decoded from enc to dst, refusing to produce
// more than limit bytes so that a small compressed body cannot expand into
// unbounded memory.
func appendDecoded(dst []byte, enc coding, src []byte, limit int) ([]byte, error) {
	br := bytesReaders.Get().(*bytes.Reader)
	br.Reset(src)
	defer func() { br.Reset(nil); bytesReaders.Put(br) }()

	var r io.Reader
	switch enc {
	case codingIdentity:
		if len(src) > limit {
			return dst, errDecodedTooLarge
		}
		return append(dst, src...), nil
	case codingGzip:
		zr, _ := gzipReaders.Get().(*gzip.Reader)
		if zr == nil {
			zr = new(gzip.Reader)
		}
		if err := zr.Reset(br); err != nil {
			gzipReaders.Put(zr)
			return dst, err
		}
		defer gzipReaders.Put(zr)
		r = zr
	case codingBrotli:
		zr, _ := brotliReaders.Get().(*brotli.Reader)
		if zr == nil {
			zr = brotli.NewReader(br)
		} else if err := zr.Reset(br); err != nil {
			return dst, err
		}
		defer brotliReaders.Put(zr)
		r = zr
	default:
		return dst, errors.New("proxy: unsupported content coding")
	}
	return readAtMost(dst, r, limit)
}

// readAtMost appends r to dst until EOF, failing with errDecodedTooLarge if
// more than limit bytes arrive.
func readAtMost(dst []byte, r io.Reader, limit int) ([]byte, error) {
	start := len(dst)
	for {
		if len(dst) == cap(dst) {
			dst = append(dst, 0)[:len(dst)]
		}
		n, err := r.Read(dst[len(dst):cap(dst)])
		dst = dst[:len(dst)+n]
		if len(dst)-start > limit {
			return dst, errDecodedTooLarge
		}
		if err == io.EOF {
			return dst, nil
		}
		if err != nil {
			return dst, err
		}
	}
}

// encoders pools compression writers at the server's configured levels;
// building a brotli or gzip writer costs hundreds of kilobytes.
type encoders struct {
	gzipLevel     int
	brotliQuality int
	gzip          sync.Pool // *gzip.Writer
	brotli        sync.Pool // *brotli.Writer

	// stitch writes spliced pages as gzip from parts of the page compressed
	// once (RewriteContext.Splice); built on first use, nil if it cannot be.
	stitchOnce sync.Once
	stitch     *inject.GzipSplicer
}

// splicer returns the gzip splicer at the server's gzip level, or nil. There
// is no brotli counterpart: brotli parts cannot be compressed apart and
// concatenated (package inject/gzsplice says why), so brotli is compressed
// per request.
func (e *encoders) splicer() *inject.GzipSplicer {
	e.stitchOnce.Do(func() {
		// Static parts are compressed once, so at a better level than the
		// per-request one: the stitched page comes out smaller than the
		// whole page at the per-request level.
		e.stitch, _ = inject.NewGzipSplicer(inject.GzipOptions{Level: e.gzipLevel, StaticLevel: max(e.gzipLevel, 6)})
	})
	return e.stitch
}

// encode writes src to w compressed with enc.
func (e *encoders) encode(w io.Writer, enc coding, src []byte) error {
	switch enc {
	case codingGzip:
		zw, _ := e.gzip.Get().(*gzip.Writer)
		if zw == nil {
			var err error
			if zw, err = gzip.NewWriterLevel(w, e.gzipLevel); err != nil {
				return err
			}
		} else {
			zw.Reset(w)
		}
		_, err := zw.Write(src)
		if cerr := zw.Close(); err == nil {
			err = cerr
		}
		zw.Reset(io.Discard)
		e.gzip.Put(zw)
		return err
	case codingBrotli:
		zw, _ := e.brotli.Get().(*brotli.Writer)
		if zw == nil {
			zw = brotli.NewWriterLevel(w, e.brotliQuality)
		} else {
			zw.Reset(w)
		}
		_, err := zw.Write(src)
		if cerr := zw.Close(); err == nil {
			err = cerr
		}
		zw.Reset(io.Discard)
		e.brotli.Put(zw)
		return err
	default:
		_, err := w.Write(src)
		return err
	}
}
