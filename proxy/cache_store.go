package proxy

import (
	"bytes"
	"io"
	"net/netip"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/marquee-proxy/marquee/cache"
)

// Storing and revalidating: what the edge cache does with the origin's
// answer to a request it could not serve (cache.go), in the foreground or
// after the response.

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
