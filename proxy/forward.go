package proxy

import (
	"bytes"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/marquee-proxy/marquee/internal/httpfield"

	"github.com/valyala/fasthttp"
)

// exchange is the per-request state of one proxied request, pooled. Whatever
// it still owns when the handler returns is released then; ownership of the
// origin response and the prefix buffer passes to an originBody when the
// body is streamed after the handler.
type exchange struct {
	req   fasthttp.Request
	built bool // req is filled for the origin (originRequest)
	resp  *fasthttp.Response
	// notModified is the origin's 304 while resp holds the page fetched
	// again without the visitor's validators (see refetchNotModified).
	notModified *fasthttp.Response
	raw         *buffer // origin body as received
	dec         *buffer // origin body decoded
	scratch     []byte
	c           cacheState
}

var exchanges = sync.Pool{New: func() any { return new(exchange) }}

func acquireExchange() *exchange { return exchanges.Get().(*exchange) }

func releaseExchange(x *exchange) {
	x.req.Reset()
	x.built = false
	if x.resp != nil {
		_ = x.resp.CloseBodyStream()
		fasthttp.ReleaseResponse(x.resp)
		x.resp = nil
	}
	if x.notModified != nil {
		fasthttp.ReleaseResponse(x.notModified)
		x.notModified = nil
	}
	releaseBuffer(x.raw)
	releaseBuffer(x.dec)
	x.raw, x.dec = nil, nil
	if cap(x.scratch) > 64<<10 {
		x.scratch = nil
	}
	x.scratch = x.scratch[:0]
	x.c.reset()
	exchanges.Put(x)
}

var (
	strGET          = []byte(fasthttp.MethodGet)
	strHEAD         = []byte(fasthttp.MethodHead)
	strCONNECT      = []byte(fasthttp.MethodConnect)
	strHTTP11       = []byte("HTTP/1.1")
	strHTTP10       = []byte("HTTP/1.0")
	strPOST         = []byte(fasthttp.MethodPost)
	strPUT          = []byte(fasthttp.MethodPut)
	strPATCH        = []byte(fasthttp.MethodPatch)
	strTextHTML     = []byte("text/html")
	strSchemeHTTP   = []byte("http://")
	strSchemeHTTPS  = []byte("https://")
	strExpect       = []byte(fasthttp.HeaderExpect)
	strContentRange = []byte(fasthttp.HeaderContentRange)

	strTransferEncoding = []byte(fasthttp.HeaderTransferEncoding)
)

// serveHTTP is the proxy's fasthttp handler.
func (s *Server) serveHTTP(ctx *fasthttp.RequestCtx) {
	x := acquireExchange()
	defer func() {
		if r := recover(); r != nil {
			// fasthttp does not recover handler panics; one bad request must
			// not take the process down.
			s.log.Error("proxy: panic serving request", "panic", r, "path", string(ctx.Path()))
			writeError(ctx, fmt.Errorf("%w: %v", ErrInternal, r))
			s.metrics.outcome(outcomeInternalError)
		}
		if x.c.on {
			s.endCache(ctx, x)
		}
		releaseExchange(x)
	}()

	if err := checkRequest(ctx); err != nil {
		writeError(ctx, err)
		// What follows on this connection cannot be trusted to be framed
		// as the client meant (RFC 9112 §6.3).
		ctx.SetConnectionClose()
		s.metrics.outcome(outcomeClientError)
		return
	}
	if s.opts.Local != nil && s.opts.Local.ServeLocal(ctx) {
		s.metrics.outcome(outcomeLocal)
		return
	}
	peer := peerAddr(ctx)
	if s.cache != nil && (ctx.IsGet() || ctx.IsHead()) && s.lookupCache(ctx, x, peer) {
		return
	}
	headAsGet := s.originRequest(ctx, x, peer)

	x.resp = fasthttp.AcquireResponse()
	x.resp.Header.SetNoDefaultContentType(true)
	x.c.reqTime = time.Now()
	err := s.client.DoDeadline(&x.req, x.resp, x.c.reqTime.Add(s.opts.OriginTimeout))
	if x.c.on && s.afterFetch(ctx, x, peer, err) {
		return
	}
	if err != nil {
		s.originError(ctx, classifyOrigin(err))
		return
	}
	if s.cache != nil && !safeMethod(ctx.Method()) {
		s.invalidateAfterUnsafe(ctx, x, peer)
	}
	if len(x.req.Body()) > 0 && x.resp.StatusCode() >= fasthttp.StatusBadRequest {
		// An origin that refuses a request (401, 403, 413, 5xx) may have
		// answered without reading its body, whose bytes would then be read
		// as the next request on the connection: use it for nothing more.
		x.resp.SetConnectionClose()
	}
	if s.mayHideSlottedPage(ctx, x.resp) && !s.refetchNotModified(ctx, x) {
		return
	}
	if s.eligible(ctx, x.resp) {
		s.serveRewrite(ctx, x, peer)
		return
	}
	s.serveStream(ctx, x, peer, headAsGet)
}

// headStaysHead reports whether ctx is a HEAD the origin gets as HEAD:
// when no rewrite stage needs the body to compute its headers.
func (s *Server) headStaysHead(ctx *fasthttp.RequestCtx) bool {
	return ctx.IsHead() && s.opts.Rewriter == nil
}

// originRequest fills x.req for the origin, once per exchange: a request
// the cache answers never needs it, and building it (headers copied,
// hop-by-hop fields removed, X-Forwarded-* set) was a twentieth of a hit's
// CPU under load. It reports whether a HEAD goes to the origin as GET: so
// it does when a rewrite stage is set, so that HEAD carries the same
// headers as GET would (RFC 9110 §9.3.2), which depend on the body.
// Without one a HEAD stays a HEAD, cache or not: a full GET for every HEAD
// that misses costs the origin a body for a response that is then usually
// not stored.
func (s *Server) originRequest(ctx *fasthttp.RequestCtx, x *exchange, peer netip.Addr) (headAsGet bool) {
	headAsGet = !s.headStaysHead(ctx) && ctx.IsHead()
	if x.built {
		return headAsGet
	}
	x.built = true
	s.buildOriginRequest(ctx, x, peer)
	if headAsGet {
		x.req.Header.SetMethodBytes(strGET)
	}
	return headAsGet
}

// checkRequest refuses what must never be forwarded: HTTP versions other
// than 1.0 and 1.1, tunnels (an open proxy),
// GET and HEAD requests with a body, and request targets that are neither origin-form nor absolute-form
// (RFC 9112 §3.2). fasthttp has already refused ambiguous framing:
// duplicate Content-Length, unknown or repeated Transfer-Encoding, and
// Transfer-Encoding in HTTP/1.0; Content-Length beside Transfer-Encoding is
// decoded as chunked and the connection closed after (RFC 9112 §6.3).
func checkRequest(ctx *fasthttp.RequestCtx) error {
	// fasthttp reads any HTTP/x.y and treats all but 1.1 as 1.0; a version
	// the proxy does not speak gets 505 rather than a guess at its framing
	// (RFC 9110 §15.6.6).
	if p := ctx.Request.Header.Protocol(); !bytes.Equal(p, strHTTP11) && !bytes.Equal(p, strHTTP10) {
		return fmt.Errorf("%w: %q", ErrHTTPVersion, p)
	}
	if bytes.Equal(ctx.Method(), strCONNECT) {
		return fmt.Errorf("%w: CONNECT is not supported", ErrBadRequest)
	}
	// An origin that expects no body on GET or HEAD may not read one and
	// would then take it for the next request on the shared connection
	// (a CL.0 desync): another visitor would get its answer. Such bodies
	// have no defined meaning (RFC 9110 §9.3.1, §9.3.2); refuse them.
	if (ctx.IsGet() || ctx.IsHead()) && (len(ctx.Request.Body()) > 0 || ctx.Request.Header.ContentLength() > 0) {
		return fmt.Errorf("%w: %s request with a body", ErrBadRequest, ctx.Method())
	}
	uri := ctx.Request.Header.RequestURI()
	if len(uri) == 0 || (uri[0] != '/' && !hasPrefixFold(uri, strSchemeHTTP) && !hasPrefixFold(uri, strSchemeHTTPS)) {
		return fmt.Errorf("%w: unsupported request target", ErrBadRequest)
	}
	// Origins behind CGI-style gateways read "Transfer_Encoding" as
	// Transfer-Encoding (underscores become hyphens), a second framing the
	// proxy never saw. Refuse such look-alikes of framing fields.
	for k := range ctx.Request.Header.AllInOrder() {
		if bytes.IndexByte(k, '_') >= 0 && (equalFoldUnderscore(k, strTransferEncoding) || equalFoldUnderscore(k, strContentLength)) {
			return fmt.Errorf("%w: framing look-alike field %q", ErrBadRequest, k)
		}
	}
	return nil
}

// equalFoldUnderscore compares a field name to a canonical one, reading '_'
// in name as '-'.
func equalFoldUnderscore(name, canonical []byte) bool {
	if len(name) != len(canonical) {
		return false
	}
	for i, c := range name {
		if c == '_' {
			c = '-'
		}
		if c|0x20 != canonical[i]|0x20 {
			return false
		}
	}
	return true
}

func hasPrefixFold(b, prefix []byte) bool {
	return len(b) >= len(prefix) && bytes.EqualFold(b[:len(prefix)], prefix)
}

// buildOriginRequest fills x.req from the client's request. The target is
// always the first origin's scheme and host plus the client's path and
// query; the host a client names (Host or absolute-form) only decides Host
// when PreserveHost is set and never where the request goes.
func (s *Server) buildOriginRequest(ctx *fasthttp.RequestCtx, x *exchange, peer netip.Addr) {
	out := &x.req.Header
	ctx.Request.Header.CopyTo(out)
	// Neither direction gains a Content-Type its sender did not send.
	out.SetNoDefaultContentType(true)
	x.scratch = removeHopByHop(out, x.scratch)
	// The body is read in full already; the origin gets no interim 100.
	out.DelBytes(strExpect)
	x.scratch = s.setForwarded(ctx, out, peer, x.scratch)

	org := &s.origins[0]
	u := x.scratch[:0]
	if org.isTLS {
		u = append(u, strSchemeHTTPS...)
	} else {
		u = append(u, strSchemeHTTP...)
	}
	u = append(u, org.host...)
	u = s.appendTarget(u, ctx)
	x.scratch = u
	x.req.SetRequestURIBytes(u)
	if s.opts.PreserveHost {
		out.SetHostBytes(ctx.Host())
		x.req.UseHostHeader = true
	}
	// The request and its body outlive neither the handler nor ctx.
	if body := ctx.Request.Body(); len(body) > 0 {
		x.req.SetBodyRaw(body)
		// An origin may answer a method that rarely carries a body (DELETE,
		// OPTIONS, ...) without reading it; the connection must then not
		// carry another request, whose start would be read as this body's.
		if m := ctx.Method(); !bytes.Equal(m, strPOST) && !bytes.Equal(m, strPUT) && !bytes.Equal(m, strPATCH) {
			x.req.SetConnectionClose()
		}
	}
}

var (
	strQuestion = []byte("?")
	strAmp      = []byte("&")
	strEquals   = []byte("=")
)

// appendTarget appends ctx's path and query, without the parameters of
// Options.StripQueryParams; s may be nil (a rewrite context outside a
// server), which strips nothing.
func (s *Server) appendTarget(u []byte, ctx *fasthttp.RequestCtx) []byte {
	if target := ctx.Request.Header.RequestURI(); len(target) > 0 && target[0] == '/' {
		path, q, hasQuery := bytes.Cut(target, strQuestion)
		if !hasQuery || !s.mustStripQuery(q) {
			return append(u, target...)
		}
		u = append(u, path...)
		return s.appendStrippedQuery(u, q)
	}
	// Absolute-form: keep only its path and query (RFC 9112 §3.2.2).
	u = append(u, ctx.URI().PathOriginal()...)
	if q := ctx.URI().QueryString(); len(q) > 0 && s.mustStripQuery(q) {
		u = s.appendStrippedQuery(u, q)
	} else if len(q) > 0 {
		u = append(u, '?')
		u = append(u, q...)
	}
	return u
}

// mustStripQuery reports whether query q may hold a parameter of
// Options.StripQueryParams: one substring search per name, so that the
// usual request costs nothing more.
func (s *Server) mustStripQuery(q []byte) bool {
	if s == nil {
		return false
	}
	for _, name := range s.opts.StripQueryParams {
		if strings.Contains(b2s(q), name) || bytes.IndexByte(q, '%') >= 0 {
			return true
		}
	}
	return false
}

// appendStrippedQuery appends "?" and query q without the parameters named
// in Options.StripQueryParams, or nothing when none is left. The others
// keep their bytes and order.
func (s *Server) appendStrippedQuery(dst, q []byte) []byte {
	start := len(dst)
	for rest := q; ; {
		pair, more, found := bytes.Cut(rest, strAmp)
		key, _, _ := bytes.Cut(pair, strEquals)
		if !s.strippedParam(key) && (len(pair) > 0 || found) {
			if len(dst) == start {
				dst = append(dst, '?')
			} else {
				dst = append(dst, '&')
			}
			dst = append(dst, pair...)
		}
		if !found {
			return dst
		}
		rest = more
	}
}

// strippedParam reports whether a raw query key names one of
// Options.StripQueryParams once percent- and plus-decoded.
func (s *Server) strippedParam(key []byte) bool {
	for _, name := range s.opts.StripQueryParams {
		if httpfield.FormEqual(key, name) {
			return true
		}
	}
	return false
}

// eligible reports whether the origin response goes through the rewrite
// stage: GET or HEAD, 200, text/html, a coding the proxy can decode, not a
// range, and not declared larger than MaxRewriteBody.
func (s *Server) eligible(ctx *fasthttp.RequestCtx, resp *fasthttp.Response) bool {
	if m := ctx.Method(); !bytes.Equal(m, strGET) && !bytes.Equal(m, strHEAD) {
		return false
	}
	return s.eligibleResponse(resp)
}

// eligibleResponse is eligible for a GET.
func (s *Server) eligibleResponse(resp *fasthttp.Response) bool {
	if s.opts.Rewriter == nil || resp.StatusCode() != fasthttp.StatusOK || resp.BodyStream() == nil {
		return false
	}
	if !isHTML(resp.Header.ContentType()) || parseContentEncoding(resp.Header.ContentEncoding()) == codingUnknown {
		return false
	}
	if len(resp.Header.PeekBytes(strContentRange)) > 0 {
		return false
	}
	return resp.Header.ContentLength() <= s.opts.MaxRewriteBody
}

// mayHideSlottedPage reports whether resp is an origin 304 to a GET or HEAD
// that may stand for a page with slots. The proxy cannot tell until it
// has seen the page: a 304 carries no body and usually no Content-Type.
// Relayed as it is, it would carry the origin's ETag and public caching to
// a page the proxy answers privately and without validators, so that a
// cache holding some other copy (the origin's page before it had slots, or
// one planted by a probe) would keep or share it. A 304 whose Content-Type
// says it is not HTML stands.
func (s *Server) mayHideSlottedPage(ctx *fasthttp.RequestCtx, resp *fasthttp.Response) bool {
	if s.opts.Rewriter == nil || resp.StatusCode() != fasthttp.StatusNotModified || !(ctx.IsGet() || ctx.IsHead()) {
		return false
	}
	ct := resp.Header.ContentType()
	return len(ct) == 0 || isHTML(ct)
}

var strIfModifiedSince = []byte(fasthttp.HeaderIfModifiedSince)

// refetchNotModified asks the origin again for the page behind a 304,
// without the visitor's validators, and leaves in x.resp what should be
// served: the full page when it goes to the rewrite stage (which answers
// with the origin's 304 after all when the page has no slots, see
// serveRewrite), otherwise the origin's 304 as it was. So a 304 reaches
// the client only for a response the proxy would have served exactly; the
// price is a second origin request for every 304 of such a response.
// It reports false when it has answered ctx with an error.
func (s *Server) refetchNotModified(ctx *fasthttp.RequestCtx, x *exchange) bool {
	x.notModified, x.resp = x.resp, fasthttp.AcquireResponse()
	x.resp.Header.SetNoDefaultContentType(true)
	x.req.Header.DelBytes(strIfNoneMatch)
	x.req.Header.DelBytes(strIfModifiedSince)
	if err := s.client.DoDeadline(&x.req, x.resp, time.Now().Add(s.opts.OriginTimeout)); err != nil {
		s.originError(ctx, classifyOrigin(err))
		return false
	}
	if s.eligible(ctx, x.resp) {
		return true
	}
	// Not a page: the visitor's copy is current and the 304 stands. The
	// unread body closes the origin connection.
	_ = x.resp.CloseBodyStream()
	fasthttp.ReleaseResponse(x.resp)
	x.resp, x.notModified = x.notModified, nil
	return true
}

// isHTML reports whether a Content-Type's media type is text/html.
func isHTML(ct []byte) bool {
	return bytes.EqualFold(mediaType(ct), strTextHTML)
}

// mediaType returns a Content-Type without its parameters.
func mediaType(ct []byte) []byte {
	if i := bytes.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	return httpfield.TrimOWS(ct)
}

// copyHeader copies the origin's status and headers onto the client
// response as mode says.
func (s *Server) copyHeader(ctx *fasthttp.RequestCtx, x *exchange, mode respMode) {
	for _, k := range s.opts.StripResponseHeaders {
		x.resp.Header.Del(k)
	}
	if s.cache != nil {
		// Purge tags are for this cache alone (package cache).
		x.resp.Header.DelBytes(strSurrogate)
		x.resp.Header.DelBytes(strCacheTag)
	}
	x.scratch = copyResponseHeader(&ctx.Response.Header, &x.resp.Header, mode, x.scratch)
}

// serveStream relays the origin response untouched, its body streamed after
// the handler returns.
func (s *Server) serveStream(ctx *fasthttp.RequestCtx, x *exchange, peer netip.Addr, headAsGet bool) {
	if s.opts.ObserveResponse != nil {
		s.opts.ObserveResponse(&ctx.Request.Header, &x.resp.Header)
	}
	if x.c.admit && s.serveStored(ctx, x, peer) {
		return
	}
	s.copyHeader(ctx, x, modeExact)
	cl := x.resp.Header.ContentLength()
	if x.resp.BodyStream() == nil || headAsGet || ctx.IsHead() {
		// No body to send: HEAD, 204, 304. The declared length stays.
		ctx.Response.SkipBody = true
		s.metrics.outcome(outcomePassthrough)
		return
	}
	if cl > s.opts.MaxResponseBody {
		s.originError(ctx, fmt.Errorf("%w: Content-Length %d exceeds %d", ErrOriginResponse, cl, s.opts.MaxResponseBody))
		return
	}
	switch {
	case mustStream(&x.resp.Header):
		// Chunked to the client, whatever the origin declared: fasthttp
		// flushes every chunk, where a body of declared length would wait
		// in the connection's write buffer.
		cl = -1
	case cl >= 0 && cl <= maxBufferedBody:
		s.serveBuffered(ctx, x, cl)
		return
	}
	s.streamBody(ctx, x, nil, cl)
	s.metrics.outcome(outcomePassthrough)
}

// maxBufferedBody is the largest declared body passthrough reads in full
// before answering. A body in hand goes to the client with its head in one
// writev, where a stream costs a write per buffer: on a 61 KB page that is
// one system call instead of three, and the calls, each running the
// receiving side of the loopback or NIC path, are most of a proxy's CPU.
// Larger bodies, and bodies of unknown length (events, long polls, slow
// downloads), are streamed as they arrive.
const maxBufferedBody = 256 << 10

var (
	strEventStream    = []byte("text/event-stream")
	strMixedReplace   = []byte("multipart/x-mixed-replace")
	strAccelBuffering = []byte("X-Accel-Buffering")
	strNo             = []byte("no")
)

// mustStream reports whether a response asks to reach the client as it is
// produced whatever its length: server-sent events, multipart replace
// streams (camera feeds), or an origin that says "X-Accel-Buffering: no", the
// convention nginx set for turning its own buffering off.
func mustStream(h *fasthttp.ResponseHeader) bool {
	ct := mediaType(h.ContentType())
	return bytes.EqualFold(ct, strEventStream) || bytes.EqualFold(ct, strMixedReplace) ||
		bytes.EqualFold(httpfield.TrimOWS(h.PeekBytes(strAccelBuffering)), strNo)
}

// serveBuffered reads a body of declared length cl in full and answers
// with it; the head is already copied.
func (s *Server) serveBuffered(ctx *fasthttp.RequestCtx, x *exchange, cl int) {
	x.raw = acquireBuffer()
	if cap(x.raw.b) <= cl {
		x.raw.b = make([]byte, 0, cl+1)
	}
	var err error
	x.raw.b, _, err = readPrefix(x.raw.b[:0], x.resp.BodyStream(), cl)
	if err == nil && len(x.raw.b) < cl {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		s.originError(ctx, classifyOrigin(err))
		return
	}
	// The whole body is in hand: give the origin connection back now.
	_ = x.resp.CloseBodyStream()
	sendRaw(ctx, x)
	s.metrics.outcome(outcomePassthrough)
}

// streamBody hands the origin response, and prefix if any, to fasthttp.
func (s *Server) streamBody(ctx *fasthttp.RequestCtx, x *exchange, prefix *buffer, cl int) {
	if cl < 0 {
		cl = -1 // chunked to the client, whatever the origin framed
	}
	body := newOriginBody(s, x.resp, prefix)
	x.resp = nil
	ctx.Response.SetBodyStream(body, cl)
}

// sendBuffer makes b the response body without copying it. The response
// only borrows it: fasthttp keeps a connection's body buffer between
// requests, which would pin a page-sized buffer to every idle keep-alive
// connection. b goes back to the pool instead once the response is written,
// when fasthttp closes the request's io.Closer user values. The caller must
// not use b afterwards.
func sendBuffer(ctx *fasthttp.RequestCtx, b *buffer) {
	ctx.Response.SetBodyRaw(b.b)
	ctx.SetUserValue(sentBodyKey{}, b)
}

// sentBodyKey is the user-value key of the buffer a response borrows.
type sentBodyKey struct{}

// sendRaw sends the origin's bytes, x.raw, with sendBuffer; x gives the
// buffer up.
func sendRaw(ctx *fasthttp.RequestCtx, x *exchange) {
	sendBuffer(ctx, x.raw)
	x.raw = nil
}
