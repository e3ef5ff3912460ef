package inject

import (
	"bytes"
	"errors"
	"runtime"
	"sync/atomic"

	"github.com/marquee-proxy/marquee/inject/gzsplice"
)

// Stitched gzip. Compressing a 61 KB page per request costs far more than
// the rest of personalising it (about 65 µs at level 1 against 3 µs). But
// the page is the same on every request except in its slots, so its static
// parts are compressed once per plan and kept on the plan, and a request
// compresses only its offers and stitches the parts into one gzip member
// (package gzsplice says why that is a valid stream).
//
// Which plans: a cached plan is precompressed the second time a GzipSplicer
// sees it with the body it was compiled for (GzipOptions.MinUses). A page
// served from the plan cache qualifies. A page that changes on every request
// (a nonce) never does: the changed-page path gives it a new, uncached
// *Plan, or the cached sibling's plan when no slot moved, whose body differs;
// either way it keeps being compressed per request, as it must, since
// precompressing it would cost a full compression and serve one request.
//
// Memory: the parts live on the plan, so they are freed with it when the
// plan cache evicts it; GzipOptions.MaxBytes bounds their total.

// ErrGzipOptions means GzipOptions are out of range.
var ErrGzipOptions = errors.New("inject: invalid gzip options")

// Defaults of GzipOptions.
const (
	DefaultGzipMinUses  = 2
	DefaultGzipMaxBytes = 32 << 20
)

// GzipOptions configures a GzipSplicer. The zero value works.
type GzipOptions struct {
	// Level is the flate level for offers, compressed per request, 1
	// (fastest) to 9. Zero means 1. Offers under 128 bytes are stored:
	// they would not shrink.
	Level int
	// StaticLevel is the flate level for the static parts, compressed once
	// per plan, 1 to 9. Zero means 6: on the 61 KB listing page the stitched
	// member is then 6% smaller than compressing the whole page at level 1
	// (8,232 against 8,794 bytes; at level 1 it would be 7% larger, each
	// part starting with an empty window), for about 0.5 ms once per plan.
	StaticLevel int
	// MinUses is how many times a plan must be asked for before its parts
	// are compressed; earlier requests return false. Zero means
	// DefaultGzipMinUses (2), which keeps one-off plans (pages with a nonce)
	// from paying a full compression for nothing.
	MinUses int
	// MaxBytes bounds the compressed bytes held for all plans together.
	// Past it, plans not yet precompressed are not, until evicted plans
	// free their share. Zero means DefaultGzipMaxBytes (32 MiB).
	MaxBytes int64
}

// GzipSplicer writes a plan's splice as a gzip member (RFC 1952) from the
// plan's static parts, compressed once, and the offers, compressed per call.
// It is safe for concurrent use.
type GzipSplicer struct {
	enc      *gzsplice.Encoder // offers
	static   *gzsplice.Encoder // static parts
	minUses  uint32
	maxBytes int64
	used     atomic.Int64 // bytes held by live gzipParts of this splicer
}

// NewGzipSplicer returns a GzipSplicer configured by o.
func NewGzipSplicer(o GzipOptions) (*GzipSplicer, error) {
	if o.Level == 0 {
		o.Level = 1
	}
	if o.StaticLevel == 0 {
		o.StaticLevel = 6
	}
	if o.Level < 1 || o.Level > 9 || o.StaticLevel < 1 || o.StaticLevel > 9 || o.MinUses < 0 || o.MaxBytes < 0 {
		return nil, ErrGzipOptions
	}
	if o.MinUses == 0 {
		o.MinUses = DefaultGzipMinUses
	}
	if o.MaxBytes == 0 {
		o.MaxBytes = DefaultGzipMaxBytes
	}
	enc, err := gzsplice.NewEncoder(o.Level)
	if err != nil {
		return nil, errors.Join(ErrGzipOptions, err)
	}
	static, err := gzsplice.NewEncoder(o.StaticLevel)
	if err != nil {
		return nil, errors.Join(ErrGzipOptions, err)
	}
	return &GzipSplicer{enc: enc, static: static, minUses: uint32(min(o.MinUses, 1<<30)), maxBytes: o.MaxBytes}, nil
}

// HeldBytes returns the compressed bytes currently held for plans. Parts
// of evicted plans are released when the garbage collector frees them.
func (g *GzipSplicer) HeldBytes() int64 { return g.used.Load() }

// gzipState is a plan's precompression state.
type gzipState struct {
	uses     atomic.Uint32
	building atomic.Bool
	parts    atomic.Pointer[gzipParts]
	// need is the size of parts that did not fit the budget: the plan is
	// not compressed again until that much is free.
	need atomic.Int64
}

// gzipParts are a plan's static parts for one GzipSplicer: static[i] is the
// body before slot i (after slot i-1), static[n] the body after the last
// slot, fallback[i] slot i's replaced range, used when slot i gets no offer.
type gzipParts struct {
	owner    *GzipSplicer
	static   []gzsplice.Segment
	fallback []gzsplice.Segment
}

// AppendSplice appends to dst a gzip member that decodes to exactly what
// p.AppendSplice(nil, body, offers) returns, and reports true. It reports
// false and returns dst unchanged when it does not stitch: the plan has no
// slots, p is not a cached plan, body is not byte for byte the body p was
// compiled for (the changed-page path hands a cached plan to other bodies
// whose slots did not move), the plan has been asked for fewer than
// MinUses times, or its parts would exceed MaxBytes. The caller then
// splices and compresses as usual.
//
// The first call past MinUses compresses the page's static parts, which
// costs a few compressions of the page at StaticLevel; later calls reuse
// them, paying a comparison of body (about 0.7 µs for 61 KB) and the
// offers' compression.
func (g *GzipSplicer) AppendSplice(dst []byte, p *Plan, body []byte, offers [][]byte) ([]byte, bool) {
	if len(p.slots) == 0 || !bytes.Equal(body, p.src) {
		// The parts are compressed from p.src; another body, even one
		// with the same slots, would be served the cached page's bytes.
		return dst, false
	}
	parts := p.gz.parts.Load()
	if parts == nil || parts.owner != g {
		if parts = g.build(p); parts == nil {
			return dst, false
		}
	}
	s := g.enc.Begin(dst)
	var ncr *Buffer
	for i := range p.slots {
		s.AppendSegment(&parts.static[i])
		var offer []byte
		if i < len(offers) {
			offer = offers[i]
		}
		switch {
		case offer == nil:
			s.AppendSegment(&parts.fallback[i])
		case p.ncr:
			if ncr == nil {
				ncr = AcquireBuffer()
			}
			ncr.B = appendNCR(ncr.B[:0], offer)
			s.Append(ncr.B)
		default:
			s.Append(offer)
		}
	}
	s.AppendSegment(&parts.static[len(p.slots)])
	ReleaseBuffer(ncr)
	return s.Finish(), true
}

// build compresses p's static parts when p has been asked for often enough,
// no other goroutine is building them, and they fit the budget; otherwise
// it returns nil. Parts that do not fit are returned, not kept, for the
// call that paid for them.
func (g *GzipSplicer) build(p *Plan) *gzipParts {
	if p.gz.uses.Add(1) < g.minUses || g.used.Load()+max(p.gz.need.Load(), 1) > g.maxBytes {
		return nil
	}
	if !p.gz.building.CompareAndSwap(false, true) {
		return nil // another request is building them; it will not be long
	}
	defer p.gz.building.Store(false)
	body := p.src // immutable, unlike the caller's buffer
	parts := &gzipParts{
		owner:    g,
		static:   make([]gzsplice.Segment, len(p.slots)+1),
		fallback: make([]gzsplice.Segment, len(p.slots)),
	}
	var size int64
	prev := 0
	for i := range p.slots {
		sl := &p.slots[i]
		parts.static[i] = g.static.Segment(body[prev:sl.Start])
		parts.fallback[i] = g.static.Segment(body[sl.Start:sl.End])
		size += int64(parts.static[i].CompressedLen() + parts.fallback[i].CompressedLen())
		prev = sl.End
	}
	parts.static[len(p.slots)] = g.static.Segment(body[prev:])
	size += int64(parts.static[len(p.slots)].CompressedLen()) + 48*int64(2*len(p.slots)+1)
	if g.used.Add(size) > g.maxBytes {
		g.used.Add(-size)
		p.gz.need.Store(size)
		return parts
	}
	// The parts are released when the plan (or a replacement of the parts
	// by another splicer) drops the last reference to them.
	runtime.AddCleanup(parts, g.release, size)
	p.gz.parts.Store(parts)
	return parts
}

// release returns n bytes of freed parts to the budget.
func (g *GzipSplicer) release(n int64) { g.used.Add(-n) }
