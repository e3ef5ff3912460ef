package proxy

import (
	"bytes"
	"io"
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

// afterFetch handles the origin's answer to a request that went through
// the cache: a failure or 5xx served from a stale entry within its
// stale-if-error window, a 304 refreshing the entry being revalidated. It
// reports whether it answered; otherwise it notes in x whether the
// response may be stored.
func (s *Server) afterFetch(ctx *fasthttp.RequestCtx, x *exchange, peer netip.Addr, err error) bool {
	c := &x.c
	c.respTime = time.Now()
	failed := err != nil || originFailed(x.resp.StatusCode())
	if failed && c.flight != nil {
		// The waiters serve stale if they may; requests for the next
		// moments too.
		s.cache.Fail(c.flight)
	}
	if st := c.stale; st != nil {
		if failed && st.UsableOnError(c.respTime.UnixNano(), s.cache.StaleIfError()) {
			s.log.Debug("proxy: origin failed, serving a stale entry", "path", string(ctx.Path()), "err", err, "status", x.resp.StatusCode())
			s.serveEntry(ctx, x, st, cache.Stale, peer)
			return true
		}
		if err == nil && x.resp.StatusCode() == fasthttp.StatusNotModified && st.HasValidator() {
			c.fields = appendCacheFields(c.fields[:0], &x.resp.Header, x.scratch)
			r := cache.Response{Status: fasthttp.StatusNotModified, Fields: c.fields, RequestTime: c.reqTime, ResponseTime: c.respTime}
			var e *cache.Entry
			if s.carriesProxyField(&x.resp.Header) {
				// This visitor's answer alone (a customer id): it serves
				// this request, and st, not refreshed with it, stays for
				// the others.
				e = s.cache.Validated(st, &ctx.Request.Header, &r)
			} else {
				e = s.cache.Refresh(st, &ctx.Request.Header, &r)
			}
			if e == nil {
				e = st // validated for this request, though no longer stored
			}
			s.serveEntry(ctx, x, e, cache.Revalidated, peer)
			return true
		}
	}
	if err == nil {
		c.admit = s.mayStore(ctx, x)
		if !c.admit && !failed && c.flight != nil {
			// Nothing to wait for: the waiters fetch now, and later
			// requests without queueing (hit-for-pass).
			s.cache.Pass(c.flight)
		}
	}
	return false
}

// originFailed reports whether an origin status lets a stale entry be
// served under stale-if-error (RFC 5861 §4).
func originFailed(code int) bool {
	switch code {
	case fasthttp.StatusInternalServerError, fasthttp.StatusBadGateway,
		fasthttp.StatusServiceUnavailable, fasthttp.StatusGatewayTimeout:
		return true
	}
	return false
}

// mayStore reports whether the origin's response may be stored, judged by
// its head: the answer to a GET, not streamed by nature, not declared larger than an entry may
// be, not carrying a field meant for the proxy alone (a customer id or an
// event describes one visitor), and storable under RFC 9111. It leaves the
// response's fields in x.c.fields for Admit.
func (s *Server) mayStore(ctx *fasthttp.RequestCtx, x *exchange) bool {
	h := &x.resp.Header
	if x.req.Header.IsHead() || !s.storableHead(h) {
		return false // a HEAD's answer has no body to store
	}
	x.c.fields = appendCacheFields(x.c.fields[:0], h, x.scratch)
	r := cache.Response{Status: h.StatusCode(), Fields: x.c.fields, RequestTime: x.c.reqTime, ResponseTime: x.c.respTime}
	return s.cache.Precheck(&ctx.Request.Header, &r) == cache.Storable
}

// storableHead reports whether a response with head h may be stored as
// far as the proxy decides, before RFC 9111 (cache.Precheck): not streamed
// by nature, not declared larger than an entry may be, and not carrying a
// field meant for the proxy alone.
func (s *Server) storableHead(h *fasthttp.ResponseHeader) bool {
	return !mustStream(h) && int64(h.ContentLength()) <= s.cache.MaxObject() && !s.carriesProxyField(h)
}

// storeLimit is the most of a body read to store it: the smaller of an
// entry's and a response's limits.
func (s *Server) storeLimit() int {
	return int(min(s.cache.MaxObject(), int64(s.opts.MaxResponseBody)))
}

// carriesProxyField reports whether h carries a field meant for the proxy
// alone (Options.StripResponseHeaders): a customer id or an event
// describes one visitor, so no part of such a response, 304s included, may
// be stored or merged into an entry that others are served.
func (s *Server) carriesProxyField(h *fasthttp.ResponseHeader) bool {
	for _, k := range s.opts.StripResponseHeaders {
		if len(h.Peek(k)) > 0 {
			return true
		}
	}
	return false
}

// appendCacheFields appends views of h's end-to-end fields, in order, to
// dst. They are valid while h is unchanged.
func appendCacheFields(dst []cache.Field, h *fasthttp.ResponseHeader, scratch []byte) []cache.Field {
	tokens := appendConnectionTokens(scratch[:0], h.PeekAll(fasthttp.HeaderConnection))
	for k, v := range h.All() {
		if !isHopByHop(k, tokens) {
			dst = append(dst, cache.Field{Name: k, Value: v})
		}
	}
	return dst
}

// admit builds the entry for the origin's response, body (as received) and
// decoded (for a page the stage reads, else nil) in hand, or returns nil
// when it may not be stored after all.
func (s *Server) admit(ctx *fasthttp.RequestCtx, x *exchange, body, decoded []byte) *cache.Entry {
	r := cache.Response{Status: x.resp.StatusCode(), Fields: x.c.fields, Body: body, Decoded: decoded,
		RequestTime: x.c.reqTime, ResponseTime: x.c.respTime}
	e, _ := s.cache.Admit(x.c.key, &ctx.Request.Header, &r)
	return e
}

// serveStored reads a storable response that does not go to the rewrite
// stage, stores it and answers from the entry. One larger than an entry may
// be streams through unstored. It reports false, having done nothing, when
// the response has no body stream to read.
func (s *Server) serveStored(ctx *fasthttp.RequestCtx, x *exchange, peer netip.Addr) bool {
	stream := x.resp.BodyStream()
	if stream == nil {
		return false
	}
	x.raw = acquireBuffer()
	limit := s.storeLimit()
	var (
		complete bool
		err      error
	)
	x.raw.b, complete, err = readPrefix(x.raw.b[:0], stream, limit)
	if cl := x.resp.Header.ContentLength(); err == nil && complete && cl >= 0 && len(x.raw.b) < cl {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		s.originError(ctx, classifyOrigin(err))
		return true
	}
	if !complete {
		// Larger than an entry may be: the rest passes untouched.
		s.streamRest(ctx, x)
		return true
	}
	_ = x.resp.CloseBodyStream()
	e := s.admit(ctx, x, x.raw.b, nil)
	if e == nil {
		s.copyHeader(ctx, x, modeExact)
		sendRaw(ctx, x)
		s.metrics.outcome(outcomePassthrough)
		return true
	}
	s.serveEntry(ctx, x, e, cache.Miss, peer)
	s.cache.Put(e)
	return true
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

// revalidateInBackground sends one conditional request for e after the
// response, unless one is under way for its variant, one failed moments
// ago, the server is shutting down or maxBackground are under way: a 304
// refreshes e, a new response replaces it (stored if it may be, as a miss
// would store it), a failure keeps it. Requests meanwhile are served e.
func (s *Server) revalidateInBackground(ctx *fasthttp.RequestCtx, x *exchange, e *cache.Entry, peer netip.Addr) {
	fk := x.c.flightKey()
	if s.cache.Failing(fk) || !s.background.start() {
		return // back off from a failing origin; or shutting down, or busy
	}
	f := s.cache.Lead(fk)
	if f == nil {
		s.background.done()
		return
	}
	s.originRequest(ctx, x, peer)
	req := fasthttp.AcquireRequest()
	x.req.CopyTo(req)
	conditionalOn(&req.Header, e)
	// The client's header decides Vary and Authorization for what is
	// stored; ctx's is gone once the handler returns.
	client := &fasthttp.RequestHeader{}
	ctx.Request.Header.CopyTo(client)
	key := append([]byte(nil), x.c.key...)
	s.cache.Served(cache.Revalidated)
	go func() {
		resp := fasthttp.AcquireResponse()
		defer func() {
			if r := recover(); r != nil {
				s.log.Error("proxy: panic revalidating a cache entry", "panic", r)
			}
			_ = resp.CloseBodyStream()
			fasthttp.ReleaseResponse(resp)
			fasthttp.ReleaseRequest(req)
			s.cache.Land(f)
			s.background.done()
		}()
		resp.Header.SetNoDefaultContentType(true)
		sent := time.Now()
		err := s.client.DoDeadline(req, resp, sent.Add(s.opts.OriginTimeout))
		switch {
		case err != nil || originFailed(resp.StatusCode()):
			// Keep serving e until its windows close; no other
			// revalidation of it for cache.FailFor.
			s.cache.Fail(f)
		case resp.StatusCode() == fasthttp.StatusNotModified && e.HasValidator():
			if s.carriesProxyField(&resp.Header) {
				return // one visitor's answer: e stays as it is
			}
			fields := appendCacheFields(nil, &resp.Header, nil)
			s.cache.Refresh(e, client, &cache.Response{Status: fasthttp.StatusNotModified, Fields: fields,
				RequestTime: sent, ResponseTime: time.Now()})
		default:
			s.cache.Remove(e)
			if en := s.backgroundEntry(key, client, resp, sent); en != nil {
				s.cache.Put(en)
			}
		}
	}()
}

// backgroundEntry builds the entry for a response fetched in the
// background, as a miss in the foreground would store it: read in full
// when it may be stored, and decoded when it is a page for the rewrite
// stage. It returns nil when the response is not to be stored.
func (s *Server) backgroundEntry(key []byte, client *fasthttp.RequestHeader, resp *fasthttp.Response, sent time.Time) *cache.Entry {
	h := &resp.Header
	if !s.storableHead(h) {
		return nil
	}
	r := cache.Response{Status: h.StatusCode(), Fields: appendCacheFields(nil, h, nil), RequestTime: sent, ResponseTime: time.Now()}
	if s.cache.Precheck(client, &r) != cache.Storable {
		return nil
	}
	page := s.eligibleResponse(resp)
	limit := s.storeLimit()
	if page {
		limit = min(limit, s.opts.MaxRewriteBody)
	}
	if stream := resp.BodyStream(); stream != nil {
		body, complete, err := readPrefix(nil, stream, limit)
		if err != nil || !complete || (h.ContentLength() >= 0 && len(body) < h.ContentLength()) {
			return nil
		}
		r.Body = body
	} else {
		r.Body = resp.Body()
	}
	if page {
		r.Decoded = r.Body
		if enc := parseContentEncoding(h.ContentEncoding()); enc != codingIdentity {
			dec, err := appendDecoded(nil, enc, r.Body, s.opts.MaxRewriteBody)
			if err != nil {
				return nil
			}
			r.Decoded = dec
		}
	}
	e, _ := s.cache.Admit(key, client, &r)
	return e
}

var (
	strLocation        = []byte(fasthttp.HeaderLocation)
	strContentLocation = []byte(fasthttp.HeaderContentLocation)
	strOPTIONS         = []byte(fasthttp.MethodOptions)
	strTRACE           = []byte(fasthttp.MethodTrace)
	strHash            = []byte("#")
)

// safeMethod reports whether a request's method is safe (RFC 9110
// §9.2.1): GET, HEAD, OPTIONS or TRACE.
func safeMethod(m []byte) bool {
	return bytes.Equal(m, strGET) || bytes.Equal(m, strHEAD) || bytes.Equal(m, strOPTIONS) || bytes.Equal(m, strTRACE)
}

// invalidateAfterUnsafe drops what the cache holds for the target of an
// unsafe request (POST, PUT, DELETE, ...) that the origin answered with a
// 2xx or 3xx, and for the Location and Content-Location of that answer
// when they name the same host (RFC 9111 §4.4): a POST to /cart changes
// what a GET of /cart returns.
func (s *Server) invalidateAfterUnsafe(ctx *fasthttp.RequestCtx, x *exchange, peer netip.Addr) {
	if code := x.resp.StatusCode(); code < 200 || code >= 400 {
		return
	}
	tls := s.clientTLS(ctx, peer)
	x.c.key = s.appendCacheKey(x.c.key[:0], ctx, tls)
	s.cache.Invalidate(x.c.key)
	for _, name := range [...][]byte{strLocation, strContentLocation} {
		v, _, _ := bytes.Cut(x.resp.Header.PeekBytes(name), strHash)
		switch {
		case len(v) > 1 && v[0] == '/' && v[1] != '/':
			x.c.key = s.cache.AppendKey(x.c.key[:0], tls, ctx.Host(), v)
		case hasPrefixFold(v, strSchemeHTTP) || hasPrefixFold(v, strSchemeHTTPS):
			vtls := hasPrefixFold(v, strSchemeHTTPS)
			rest := v[len(strSchemeHTTP):]
			if vtls {
				rest = v[len(strSchemeHTTPS):]
			}
			host, path := rest, []byte("/")
			if i := bytes.IndexAny(rest, "/?"); i >= 0 {
				host, path = rest[:i], rest[i:]
			}
			if !bytes.EqualFold(host, ctx.Host()) || path[0] != '/' {
				continue // another origin's, or a query alone: not ours to drop
			}
			x.c.key = s.cache.AppendKey(x.c.key[:0], vtls, host, path)
		default:
			continue
		}
		s.cache.Invalidate(x.c.key)
	}
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
