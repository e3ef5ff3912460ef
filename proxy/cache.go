package proxy

import (
	"net/netip"
	"strconv"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/marquee-proxy/marquee/cache"
)

// The edge cache on the request path (DESIGN.md, step 1). A GET or HEAD
// without Range is looked up before anything goes to the origin:
//
//   - fresh: served from the entry, the origin not contacted;
//   - stale within stale-while-revalidate: served, and revalidated in the
//     background by one request per variant (background.go bounds them);
//   - expired, or missing: one request per variant goes to the origin
//     (collapsed forwarding, cache/collapse.go), conditional when the entry
//     has validators; the others wait for it and are then served from what
//     it stored, or the stale entry when it failed and stale-if-error
//     allows. A URL whose response may not be stored is fetched without
//     waiting for a while (hit-for-pass); one whose fetch just failed is
//     served stale without asking the origin.
//
// A HEAD is fetched as GET only for the rewrite stage; otherwise it stays
// a HEAD and stores nothing. An unsafe request the origin carries out
// drops what is stored for its URL (RFC 9111 §4.4).
//
// An entry is served through the same code as the response that filled
// it: the miss that stores a response answers from the new entry. So a hit
// and a miss give the visitor the same bytes, and a page with slots gets
// the same private headers (copyResponseHeader) either way. A page the
// rewrite stage reads is stored decoded too, with what the stage keeps
// (RewriteContext.SetCacheValue), so that a hit goes straight to the stage.
//
// Requests for the origin on this path go without the client's
// If-None-Match and If-Modified-Since, so that the origin answers with a
// response the cache can store; the client's validators are then checked
// against the entry (a page with slots never answers 304).

// cacheState is the cache's part of one exchange.
type cacheState struct {
	on       bool          // the request goes through the cache
	key      []byte        // primary key
	vkey     []byte        // secondary key, scratch
	entry    *cache.Entry  // the entry answering the request
	stale    *cache.Entry  // the expired entry being revalidated
	flight   *cache.Flight // led by this request
	admit    bool          // the origin's response may be stored
	status   cache.Status
	fields   []cache.Field
	reqTime  time.Time
	respTime time.Time
}

// flightKey is the key of the request's flight: its variant's secondary
// key when its URL is known to vary (as Lookup left it in vkey), else the
// primary key. So one variant's fetch holds up no other variant's request.
func (c *cacheState) flightKey() []byte {
	if len(c.vkey) > 0 {
		return c.vkey
	}
	return c.key
}

func (c *cacheState) reset() {
	// The fields are views into a released response: drop them.
	clear(c.fields[:cap(c.fields)])
	c.key, c.vkey, c.fields = c.key[:0], c.vkey[:0], c.fields[:0]
	c.on, c.entry, c.stale, c.flight, c.admit, c.status = false, nil, nil, nil, false, cache.Miss
}

var (
	strRange       = []byte(fasthttp.HeaderRange)
	strAge         = []byte(fasthttp.HeaderAge)
	strXCache      = []byte("X-Cache")
	strSurrogate   = []byte("Surrogate-Key")
	strCacheTag    = []byte("Cache-Tag")
	strIfNoneMatch = []byte(fasthttp.HeaderIfNoneMatch)
	strNotModified = []byte("Not Modified")
)

// Cache returns the edge cache, for purges and statistics, or nil when
// Options.Cache is nil.
func (s *Server) Cache() *cache.Cache { return s.cache }

// lookupCache looks the request up and answers it from the cache when it
// may. It reports false when the request must go to the origin; x.req is
// then ready for it (originRequest), conditional when an expired entry is
// revalidated.
func (s *Server) lookupCache(ctx *fasthttp.RequestCtx, x *exchange, peer netip.Addr) bool {
	if len(ctx.Request.Header.PeekBytes(strRange)) > 0 {
		return false // ranges are neither stored nor served from entries
	}
	c := &x.c
	c.on = true
	c.key = s.appendCacheKey(c.key[:0], ctx, s.clientTLS(ctx, peer))
	var e *cache.Entry
	e, c.vkey = s.cache.Lookup(c.key, &ctx.Request.Header, c.vkey)
	if e != nil {
		f := e.Freshness(time.Now().UnixNano())
		if f == cache.Fresh && s.cache.ClientWantsRevalidation(&ctx.Request.Header) {
			f = cache.Expired
		}
		switch f {
		case cache.Fresh:
			if s.preconditionFailed(ctx, x, e, cache.Hit) {
				return true
			}
			s.serveEntry(ctx, x, e, cache.Hit, peer)
			return true
		case cache.StaleWhileRevalidate:
			s.revalidateInBackground(ctx, x, e, peer)
			if s.preconditionFailed(ctx, x, e, cache.Stale) {
				return true
			}
			s.serveEntry(ctx, x, e, cache.Stale, peer)
			return true
		}
	}
	if e != nil && s.cache.Failing(c.flightKey()) && e.UsableOnError(time.Now().UnixNano(), s.cache.StaleIfError()) {
		// The origin failed this moments ago: serve stale rather than
		// pile onto it (cache/collapse.go).
		s.serveEntry(ctx, x, e, cache.Stale, peer)
		return true
	}
	if !s.headStaysHead(ctx) && s.joinFlight(ctx, x, &e, peer) {
		// A HEAD sent as HEAD (no rewrite stage) stores nothing: it
		// neither leads a flight nor waits for one.
		return true
	}
	// Not answered by the flight (it stored nothing this request may use,
	// or it took too long), or none to join: this request fetches for
	// itself.
	s.originRequest(ctx, x, peer)
	conditionalOn(&x.req.Header, e)
	if e != nil {
		c.stale = e
		if e.HasValidator() {
			s.cache.Served(cache.Revalidated)
		}
	}
	return false
}

// appendCacheKey appends to dst the primary key of the URL ctx asks for,
// tls saying whether the client's connection is TLS (clientTLS).
func (s *Server) appendCacheKey(dst []byte, ctx *fasthttp.RequestCtx, tls bool) []byte {
	target := ctx.Request.Header.RequestURI()
	if len(target) == 0 || target[0] != '/' {
		target = ctx.URI().RequestURI() // absolute-form: its path and query
	}
	return s.cache.AppendKey(dst, tls, ctx.Host(), target)
}

// conditionalOn replaces the client's If-None-Match and If-Modified-Since
// in h, a request for the origin, with the validators of entry e, if any:
// so the origin answers with a response the cache can store, or a 304 for
// e.
func conditionalOn(h *fasthttp.RequestHeader, e *cache.Entry) {
	h.DelBytes(strIfNoneMatch)
	h.DelBytes(strIfModifiedSince)
	if e == nil {
		return
	}
	if v := e.ETag(); len(v) > 0 {
		h.SetBytesKV(strIfNoneMatch, v)
	}
	if v := e.LastModified(); len(v) > 0 {
		h.SetBytesKV(strIfModifiedSince, v)
	}
}

// joinFlight joins the fetch of the request's variant under way, or leads
// it (x.c.flight), and reports whether it answered: from what a flight it
// waited for stored, or, when that flight failed or took too long, from
// the stale entry *e if it may be served on error. *e becomes the entry
// found after waiting, if any.
func (s *Server) joinFlight(ctx *fasthttp.RequestCtx, x *exchange, e **cache.Entry, peer netip.Addr) bool {
	c := &x.c
	f, leader := s.cache.Join(c.flightKey())
	switch {
	case f == nil:
		return false // the key passes: no one to wait for
	case leader:
		c.flight = f
		return false
	}
	landed := s.cache.Wait(f)
	var again *cache.Entry
	again, c.vkey = s.cache.Lookup(c.key, &ctx.Request.Header, c.vkey)
	now := time.Now().UnixNano()
	if again != nil && again.Freshness(now) == cache.Fresh {
		s.serveEntry(ctx, x, again, cache.Hit, peer)
		return true
	}
	if again != nil {
		*e = again
	}
	if st := *e; st != nil && (!landed || s.cache.Failed(f)) && st.UsableOnError(now, s.cache.StaleIfError()) {
		s.serveEntry(ctx, x, st, cache.Stale, peer)
		return true
	}
	return false
}

// serveEntry answers from e: its head stands in for the origin's in x.resp,
// then a page goes to the rewrite stage with its decoded body, anything else
// is sent as stored. Age says how old the stored response is.
func (s *Server) serveEntry(ctx *fasthttp.RequestCtx, x *exchange, e *cache.Entry, st cache.Status, peer netip.Addr) {
	x.c.entry, x.c.status = e, st
	if x.resp != nil {
		_ = x.resp.CloseBodyStream()
		x.resp.Reset()
	} else {
		x.resp = fasthttp.AcquireResponse()
	}
	h := &x.resp.Header
	h.SetNoDefaultContentType(true)
	h.SetStatusCode(e.Status())
	for _, f := range e.Fields() {
		h.AddBytesKV(f.Name, f.Value)
	}
	h.SetContentLength(len(e.Body()))
	if dec := e.Decoded(); dec != nil && s.opts.Rewriter != nil {
		s.answerPage(ctx, x, dec, peer)
	} else {
		s.answerEntry(ctx, x, st != cache.Miss)
	}
	x.scratch = strconv.AppendInt(x.scratch[:0], e.Age(time.Now().UnixNano()), 10)
	ctx.Response.Header.SetBytesKV(strAge, x.scratch)
}

// answerEntry sends a stored response that is not a page for the rewrite
// stage: exactly as stored, or 304 when the client's validators match it.
// observe is false when ObserveResponse has seen the origin's response
// already.
func (s *Server) answerEntry(ctx *fasthttp.RequestCtx, x *exchange, observe bool) {
	if observe && s.opts.ObserveResponse != nil {
		s.opts.ObserveResponse(&ctx.Request.Header, &x.resp.Header)
	}
	s.copyHeader(ctx, x, modeExact)
	s.metrics.outcome(outcomePassthrough)
	if s.clientNotModified(ctx, x.c.entry) {
		s.answerNotModified(ctx)
		return
	}
	ctx.Response.SetBodyRaw(x.c.entry.Body())
}

// clientNotModified reports whether the client's conditional request is
// answered 304 by entry e (a 200), RFC 9110 §13.2.2.
func (s *Server) clientNotModified(ctx *fasthttp.RequestCtx, e *cache.Entry) bool {
	if e.Status() != fasthttp.StatusOK {
		return false
	}
	inm := ctx.Request.Header.PeekBytes(strIfNoneMatch)
	ims := ctx.Request.Header.PeekBytes(strIfModifiedSince)
	return (len(inm) > 0 || len(ims) > 0) && e.NotModified(inm, ims)
}

var (
	strIfMatch           = []byte(fasthttp.HeaderIfMatch)
	strIfUnmodifiedSince = []byte(fasthttp.HeaderIfUnmodifiedSince)
)

// preconditionFailed answers 412 when the client's If-Match or
// If-Unmodified-Since is false for entry e (RFC 9110 §13.2.2), as the
// origin would have, and reports whether it did. On a miss the origin
// evaluates them: they are forwarded.
func (s *Server) preconditionFailed(ctx *fasthttp.RequestCtx, x *exchange, e *cache.Entry, st cache.Status) bool {
	im := ctx.Request.Header.PeekBytes(strIfMatch)
	ius := ctx.Request.Header.PeekBytes(strIfUnmodifiedSince)
	if (len(im) == 0 && len(ius) == 0) || !e.PreconditionFailed(im, ius) {
		return false
	}
	x.c.entry, x.c.status = e, st
	ctx.Response.Header.SetStatusCode(fasthttp.StatusPreconditionFailed)
	s.metrics.outcome(outcomeClientError)
	return true
}

// answerNotModified turns the response, its head copied, into a 304.
func (s *Server) answerNotModified(ctx *fasthttp.RequestCtx) {
	ctx.Response.Header.SetStatusCode(fasthttp.StatusNotModified)
	ctx.Response.Header.SetStatusMessage(strNotModified)
	ctx.Response.SkipBody = true
}

// sendOrigin sends the origin's body: the entry's when serving one,
// otherwise the one read into x.raw.
func sendOrigin(ctx *fasthttp.RequestCtx, x *exchange) {
	if x.c.entry != nil {
		ctx.Response.SetBodyRaw(x.c.entry.Body())
		return
	}
	sendRaw(ctx, x)
}

// endCache finishes a request that went through the cache, whatever its
// answer: its flight lands, waking the requests collapsed onto it, it is
// counted, and X-Cache is set when configured.
func (s *Server) endCache(ctx *fasthttp.RequestCtx, x *exchange) {
	c := &x.c
	if c.flight != nil {
		s.cache.Land(c.flight)
	}
	if c.status != cache.Revalidated {
		// A revalidation was counted when it was sent.
		s.cache.Served(c.status)
	}
	if s.opts.XCacheHeader {
		ctx.Response.Header.SetBytesKV(strXCache, c.status.Bytes())
	}
}
