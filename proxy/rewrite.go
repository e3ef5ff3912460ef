package proxy

import (
	"bytes"
	"net/netip"
	"sync"

	"github.com/marquee-proxy/marquee/internal/httpfield"

	"github.com/valyala/fasthttp"

	"github.com/marquee-proxy/marquee/cache"
	"github.com/marquee-proxy/marquee/inject"
)

// Rewriter is the rewrite stage: it sees every eligible page (GET or HEAD,
// status 200, text/html, within Options.MaxRewriteBody, decoded) and may
// write a different body into rc.Dst.
//
// Rewrite is called concurrently from many goroutines. It runs on the request
// path, so it must not block on I/O for long. It must not retain rc or
// anything reached through it (headers, URI, body) after it returns: they
// belong to a pooled request and are reused.
//
// An error or a panic fails open: the client gets the origin's response
// exactly as received, the failure is counted and logged once at Warn.
type Rewriter interface {
	Rewrite(rc *RewriteContext) error
}

// LocalHandler answers requests the proxy must not forward. ServeLocal
// reports whether it answered ctx; it is called concurrently for every
// request, so it must decide quickly, and must not retain ctx.
type LocalHandler interface {
	ServeLocal(ctx *fasthttp.RequestCtx) bool
}

// RewriteContext is what the rewrite stage gets for one page. It is pooled
// and reset per request; every slice it returns is valid only until Rewrite
// returns.
type RewriteContext struct {
	// Dst is an empty buffer, reused across requests, to append the new body
	// into. It is read only when Changed is set. After Splice it may hold
	// the body already gzip-encoded.
	Dst []byte

	// Slotted is set by the stage when the page has slots: the response then
	// depends on who asks, whether or not any slot was filled, and is served
	// private, with Vary: Cookie and without the origin's ETag and
	// Last-Modified.
	Slotted bool

	// Changed is set by the stage when Dst holds a body that differs from
	// the origin's. Unset, the origin's bytes are served exactly. Changed
	// implies Slotted: a changed body is never served cacheable.
	Changed bool

	// encoded is the coding Dst is already in, set by Splice; identity
	// means Dst holds the page itself and the proxy compresses it.
	encoded coding

	ctx         *fasthttp.RequestCtx
	srv         *Server
	peer        netip.Addr
	body        []byte
	contentType []byte
	origin      *fasthttp.ResponseHeader

	clientIP    netip.Addr
	clientIPSet bool

	entry    *cache.Entry // the cache entry the page is served from or stored in
	keepBody []byte       // SetCacheValue's body

	hdrs []headerKV // headers added by the stage
	nh   int
}

// headerKV is a header the stage added or, with del set, removed.
type headerKV struct {
	key, value []byte
	del        bool
}

var rewriteContexts = sync.Pool{New: func() any { return new(RewriteContext) }}

func acquireRewriteContext(s *Server, ctx *fasthttp.RequestCtx, peer netip.Addr, body, contentType []byte) *RewriteContext {
	rc := rewriteContexts.Get().(*RewriteContext)
	rc.srv, rc.ctx, rc.peer, rc.body, rc.contentType = s, ctx, peer, body, contentType
	return rc
}

// NewRewriteContext returns a context for driving a Rewriter outside a
// server, in tests and benchmarks of a rewrite stage: the request is ctx's,
// origin the origin's response header (nil for none), body the decoded
// page. Splice then always writes the plain splice.
func NewRewriteContext(ctx *fasthttp.RequestCtx, origin *fasthttp.ResponseHeader, body []byte) *RewriteContext {
	return &RewriteContext{ctx: ctx, origin: origin, body: body, peer: peerAddr(ctx)}
}

func releaseRewriteContext(rc *RewriteContext) {
	rc.reset()
	rewriteContexts.Put(rc)
}

func (rc *RewriteContext) reset() {
	rc.Dst = rc.Dst[:0]
	if cap(rc.Dst) > maxPooledBuffer {
		rc.Dst = nil // one huge page must not pin memory in the pool
	}
	rc.Slotted, rc.Changed, rc.encoded = false, false, codingIdentity
	rc.ctx, rc.srv, rc.body, rc.contentType, rc.origin = nil, nil, nil, nil, nil
	rc.peer, rc.clientIP, rc.clientIPSet = netip.Addr{}, netip.Addr{}, false
	rc.entry, rc.keepBody = nil, nil
	rc.nh = 0
}

// Body returns the page as the origin sent it, decoded. Read-only.
func (rc *RewriteContext) Body() []byte { return rc.body }

// Splice appends to Dst the page with offers[i] in place of slot i, exactly
// as plan.AppendSplice(rc.Dst, rc.Body(), offers) would, and sets Changed.
// plan must be the plan of Body(). Offers are read before Splice returns and
// not retained.
//
// When Dst is empty and the client takes gzip, Splice may instead write the
// page already gzip-encoded, stitched from plan's static parts compressed
// once and the offers compressed now (inject.GzipSplicer): a page served
// from the plan cache then costs no per-request compression of its 60 KB.
// Dst then holds a gzip member, not HTML: a stage that needs to read or
// extend the HTML must use plan.AppendSplice itself. Splice falls back to
// the plain splice on any doubt (a plan seen for the first time; a page
// with a nonce, whose plan is never one compiled for this very body; a full
// budget), and the proxy then compresses as usual. Brotli clients always get the plain splice: brotli
// parts cannot be stitched (see package inject/gzsplice).
func (rc *RewriteContext) Splice(plan *inject.Plan, offers [][]byte) {
	rc.Changed = true
	if len(rc.Dst) == 0 && rc.srv != nil && rc.ctx != nil &&
		negotiate(rc.ctx.Request.Header.PeekBytes(strAcceptEncoding)) == codingGzip {
		if g := rc.srv.enc.splicer(); g != nil {
			var ok bool
			if rc.Dst, ok = g.AppendSplice(rc.Dst, plan, rc.body, offers); ok {
				rc.encoded = codingGzip
				return
			}
		}
	}
	rc.Dst = plan.AppendSplice(rc.Dst, rc.body, offers)
}

// ContentType returns the origin's Content-Type, e.g. "text/html;
// charset=utf-8". Read-only.
func (rc *RewriteContext) ContentType() []byte { return rc.contentType }

// RequestHeader returns the client's request headers, cookies included, as
// received. Read-only.
func (rc *RewriteContext) RequestHeader() *fasthttp.RequestHeader { return &rc.ctx.Request.Header }

// URI returns the request's URI. Read-only.
func (rc *RewriteContext) URI() *fasthttp.URI { return rc.ctx.URI() }

// AppendTarget appends the request's path and query as the origin
// received them, Options.StripQueryParams left out: the page's address
// as the shop knows it, for records that name the page.
func (rc *RewriteContext) AppendTarget(dst []byte) []byte {
	return rc.srv.appendTarget(dst, rc.ctx)
}

// OriginHeader returns the value of the origin's response header name, or
// nil. Read-only; headers in Options.StripResponseHeaders are readable here
// and never reach the client.
func (rc *RewriteContext) OriginHeader(name string) []byte {
	if rc.origin == nil {
		return nil
	}
	return rc.origin.Peek(name)
}

// OriginResponseHeader returns the origin's response header, for stages
// that read several of its fields. Read-only, like OriginHeader.
func (rc *RewriteContext) OriginResponseHeader() *fasthttp.ResponseHeader { return rc.origin }

// Cookie returns the value of the request cookie name, or nil.
func (rc *RewriteContext) Cookie(name string) []byte { return rc.ctx.Request.Header.Cookie(name) }

// IsTLS reports whether the client connection is TLS, to this server or,
// when the peer is a trusted proxy, to that proxy (X-Forwarded-Proto).
func (rc *RewriteContext) IsTLS() bool { return rc.srv.clientTLS(rc.ctx, rc.peer) }

// clientTLS reports whether the client connection is TLS, to this server
// or, when the peer is a trusted proxy, to that proxy (X-Forwarded-Proto).
func (s *Server) clientTLS(ctx *fasthttp.RequestCtx, peer netip.Addr) bool {
	if ctx.IsTLS() {
		return true
	}
	if s != nil && s.trusted(peer) {
		return bytes.EqualFold(httpfield.TrimOWS(ctx.Request.Header.PeekBytes(strXFProto)), strHTTPS)
	}
	return false
}

// Cached reports whether the page is served from the edge cache or is
// being stored in it: only then is there an entry for SetCacheValue to
// keep a value with.
func (rc *RewriteContext) Cached() bool { return rc.entry != nil }

// CacheValue returns the value the stage kept with the cache entry this
// page is served from (SetCacheValue), or nil: the page is not cached, or
// nothing is kept with it yet. The value is shared by every request served
// from the entry, concurrently: it must be immutable. For package
// personalize it is the page's compiled plan, so that a hit goes straight
// to decide and splice.
func (rc *RewriteContext) CacheValue() any {
	if rc.entry == nil {
		return nil
	}
	return rc.entry.Value()
}

// SetCacheValue keeps v with the page's cache entry, replacing what was
// kept, for later requests served from it to find with CacheValue; without
// an entry (Cached false) it does nothing. Keeping a value allocates: set
// it when the entry has none, or none the stage can use (one compiled
// under an older configuration), not on every request.
//
// body, when not nil, is Body() as the stage also keeps it: an immutable
// slice, equal byte for byte, that the entry then keeps instead of its own
// copy (package inject's Plan.Source), so that the two are one in memory
// and Splice compares nothing on a hit. It is used only when the page is
// being stored, and only when equal.
func (rc *RewriteContext) SetCacheValue(v any, body []byte) {
	if rc.entry == nil {
		return
	}
	rc.entry.SetValue(v)
	rc.keepBody = body
}

// RemoteIP returns the visitor's address: the peer's, or when the peer is a
// trusted proxy, the nearest untrusted address in X-Forwarded-For. The zero
// Addr means unknown.
func (rc *RewriteContext) RemoteIP() netip.Addr {
	if !rc.clientIPSet {
		var trusted []netip.Prefix
		if rc.srv != nil {
			trusted = rc.srv.trustedProxies
		}
		rc.clientIP = ClientAddr(&rc.ctx.Request.Header, rc.peer, trusted)
		rc.clientIPSet = true
	}
	return rc.clientIP
}

// PeerTrusted reports whether the request came from a trusted proxy
// (Options.TrustedProxies): only then are headers that proxy sets about
// the client, such as a CDN's country header, believed.
func (rc *RewriteContext) PeerTrusted() bool { return rc.srv != nil && rc.srv.trusted(rc.peer) }

// AddHeader adds a response header. Both slices are copied. Headers added
// are sent only when Rewrite succeeds, after the proxy's own; hop-by-hop
// names, names that are not tokens and values with CR, LF or NUL are
// dropped. The proxy owns Cache-Control, Vary, ETag and
// Last-Modified: adding them duplicates rather than replaces. A stage that
// sets a cookie on a page makes the page depend on the visitor and should
// set Slotted, or a shared cache may store the cookie with the page.
func (rc *RewriteContext) AddHeader(key, value []byte) {
	if rc.nh == len(rc.hdrs) {
		rc.hdrs = append(rc.hdrs, headerKV{})
	}
	kv := &rc.hdrs[rc.nh]
	kv.key = append(kv.key[:0], key...)
	kv.value = append(kv.value[:0], value...)
	kv.del = false
	rc.nh++
}

// RemoveHeader removes every field named key from the response, as the
// origin sent it; the slice is copied. Removals and AddHeader's additions
// apply in the order they were made, so a header removed and then added
// holds only what was added. Like AddHeader it applies only when Rewrite
// succeeds, and never to the proxy's own fields (Cache-Control, Vary,
// ETag, Last-Modified), hop-by-hop fields or Set-Cookie.
func (rc *RewriteContext) RemoveHeader(key []byte) {
	if rc.nh == len(rc.hdrs) {
		rc.hdrs = append(rc.hdrs, headerKV{})
	}
	kv := &rc.hdrs[rc.nh]
	kv.key = append(kv.key[:0], key...)
	kv.value = kv.value[:0]
	kv.del = true
	rc.nh++
}

// SetCookie adds a Set-Cookie response header for c, copied. Every cookie
// set is sent, alongside the origin's own.
func (rc *RewriteContext) SetCookie(c *fasthttp.Cookie) {
	if rc.nh == len(rc.hdrs) {
		rc.hdrs = append(rc.hdrs, headerKV{})
	}
	kv := &rc.hdrs[rc.nh]
	kv.key = append(kv.key[:0], fasthttp.HeaderSetCookie...)
	kv.value = c.AppendBytes(kv.value[:0])
	kv.del = false
	rc.nh++
}

// applyHeaders copies the stage's headers onto h, skipping hop-by-hop ones
// and any that would not be a valid field (RFC 9110 §5.1, §5.5): fasthttp
// writes values verbatim, so a CR or LF would split the response.
func (rc *RewriteContext) applyHeaders(h *fasthttp.ResponseHeader) {
	for _, kv := range rc.hdrs[:rc.nh] {
		if !validFieldName(kv.key) || !validFieldValue(kv.value) || isHopByHop(kv.key, nil) {
			continue
		}
		if kv.del {
			if !proxyOwned(kv.key) {
				h.DelBytes(kv.key)
			}
			continue
		}
		h.AddBytesKV(kv.key, kv.value)
	}
}

// proxyOwned reports whether the proxy, not the stage, decides the
// response field key: its caching fields, and cookies, which only
// SetCookie adds to.
func proxyOwned(key []byte) bool {
	for _, k := range [...]string{fasthttp.HeaderCacheControl, fasthttp.HeaderVary, fasthttp.HeaderETag, fasthttp.HeaderLastModified, fasthttp.HeaderSetCookie} {
		if bytes.EqualFold(key, []byte(k)) {
			return true
		}
	}
	return false
}

// validFieldName reports whether b is a non-empty token (RFC 9110 §5.6.2).
func validFieldName(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if c <= ' ' || c >= 0x7f || bytes.IndexByte([]byte(`"(),/:;<=>?@[\]{}`), c) >= 0 {
			return false
		}
	}
	return true
}

// validFieldValue reports whether b has no CR, LF or NUL (RFC 9110 §5.5).
func validFieldValue(b []byte) bool {
	for _, c := range b {
		if c == '\r' || c == '\n' || c == 0 {
			return false
		}
	}
	return true
}

// IdentityRewriter marks every page slotted and changed and copies it
// unmodified into Dst: the cost of the rewrite path (decode, copy, re-encode,
// private headers) with no rewriting, for benchmarks.
type IdentityRewriter struct{}

// Rewrite copies the body into rc.Dst.
func (IdentityRewriter) Rewrite(rc *RewriteContext) error {
	rc.Dst = append(rc.Dst, rc.Body()...)
	rc.Slotted, rc.Changed = true, true
	return nil
}

// ReplaceRewriter is a minimal rewrite stage for tests and demos. A page is
// slotted when it contains Marker; if Replacement is non-nil every Marker is
// replaced by it, otherwise the page is left unchanged.
type ReplaceRewriter struct {
	// Marker is the byte string that makes a page slotted. Empty never
	// matches.
	Marker []byte
	// Replacement replaces every Marker; nil leaves the page unchanged.
	Replacement []byte
}

// Rewrite replaces Marker with Replacement.
func (r ReplaceRewriter) Rewrite(rc *RewriteContext) error {
	body := rc.Body()
	if len(r.Marker) == 0 || !bytes.Contains(body, r.Marker) {
		return nil
	}
	rc.Slotted = true
	if r.Replacement == nil {
		return nil
	}
	for {
		i := bytes.Index(body, r.Marker)
		if i < 0 {
			break
		}
		rc.Dst = append(rc.Dst, body[:i]...)
		rc.Dst = append(rc.Dst, r.Replacement...)
		body = body[i+len(r.Marker):]
	}
	rc.Dst = append(rc.Dst, body...)
	rc.Changed = true
	return nil
}

// Interface guards.
var (
	_ Rewriter = IdentityRewriter{}
	_ Rewriter = ReplaceRewriter{}
)
