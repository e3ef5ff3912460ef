package proxy

import (
	"bytes"
	"net"
	"net/netip"
	"unsafe"

	"github.com/marquee-proxy/marquee/internal/httpfield"

	"github.com/valyala/fasthttp"
)

// hopByHop are the fields that describe one connection rather than the
// message, removed in both directions by every intermediary
// (RFC 9110 §7.6.1). Proxy-Connection, Keep-Alive and Upgrade are not named
// by the RFC but are connection-specific in practice (RFC 9112 §9.3, §7.8).
var hopByHop = [...]string{
	fasthttp.HeaderConnection,
	"Proxy-Connection",
	"Keep-Alive",
	fasthttp.HeaderProxyAuthenticate,
	fasthttp.HeaderProxyAuthorization,
	fasthttp.HeaderTE,
	fasthttp.HeaderTrailer,
	fasthttp.HeaderTransferEncoding,
	fasthttp.HeaderUpgrade,
}

var (
	strCacheControl   = []byte(fasthttp.HeaderCacheControl)
	strVary           = []byte(fasthttp.HeaderVary)
	strXFF            = []byte(fasthttp.HeaderXForwardedFor)
	strXFProto        = []byte(fasthttp.HeaderXForwardedProto)
	strXFHost         = []byte("X-Forwarded-Host")
	strPrivate        = []byte("private")
	strPublic         = []byte("public")
	strSMaxAge        = []byte("s-maxage")
	strClose          = []byte("close")
	strKeepAlive      = []byte("keep-alive")
	strHTTP           = []byte("http")
	strHTTPS          = []byte("https")
	strCommaSpace     = []byte(", ")
	strAcceptEncoding = []byte(fasthttp.HeaderAcceptEncoding)
	strCookie         = []byte(fasthttp.HeaderCookie)
)

// headerLister is the part of fasthttp's request and response headers that
// hop-by-hop removal needs.
type headerLister interface {
	PeekAll(key string) [][]byte
	DelBytes(key []byte)
	Del(key string)
}

// removeHopByHop deletes, in this order, every field named in Connection and
// then the fixed hop-by-hop list, as httputil.ReverseProxy does. scratch is
// reused and returned.
func removeHopByHop(h headerLister, scratch []byte) []byte {
	// Collect first: the header must not change while its values are borrowed.
	scratch = appendConnectionTokens(scratch[:0], h.PeekAll(fasthttp.HeaderConnection))
	for names := scratch; len(names) > 0; {
		i := bytes.IndexByte(names, ',')
		h.DelBytes(names[:i])
		names = names[i+1:]
	}
	for _, k := range hopByHop {
		h.Del(k)
	}
	return scratch
}

// peerAddr returns the address of the connection's peer, unmapped, or the
// zero Addr when the peer is not TCP (an in-memory listener).
func peerAddr(ctx *fasthttp.RequestCtx) netip.Addr { return addrOf(ctx.RemoteAddr()) }

// PeerAddr returns the address of the connection's peer, unmapped, or the
// zero Addr when it is not TCP.
func PeerAddr(ctx *fasthttp.RequestCtx) netip.Addr { return peerAddr(ctx) }

// addrOf is the IP address of a TCP peer, unmapped, or the zero Addr.
func addrOf(a net.Addr) netip.Addr {
	if t, ok := a.(*net.TCPAddr); ok {
		ip, _ := netip.AddrFromSlice(t.IP)
		return ip.Unmap()
	}
	return netip.Addr{}
}

// trusted reports whether ip is within one of the trusted proxy ranges.
func (s *Server) trusted(ip netip.Addr) bool { return Trusted(ip, s.trustedProxies) }

// Trusted reports whether ip is within one of the ranges of trusted (the
// proxies in front of marquee, Options.TrustedProxies).
func Trusted(ip netip.Addr, trusted []netip.Prefix) bool {
	if !ip.IsValid() {
		return false
	}
	for _, p := range trusted {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// setForwarded sets X-Forwarded-For, -Proto and -Host on the origin request
// out. Incoming values are kept and extended only when the peer is a trusted
// proxy; from anyone else they are forged until proven otherwise, so they
// are replaced, and Forwarded (RFC 7239), X-Real-Ip and clientClaims are
// dropped.
func (s *Server) setForwarded(ctx *fasthttp.RequestCtx, out *fasthttp.RequestHeader, peer netip.Addr, scratch []byte) []byte {
	trusted := s.trusted(peer)
	scratch = scratch[:0]
	if trusted {
		// Read the chain from the client's header, not out: deleting
		// hop-by-hop fields from out may have reordered its fields.
		for _, v := range ctx.Request.Header.PeekAll(fasthttp.HeaderXForwardedFor) {
			if len(scratch) > 0 {
				scratch = append(scratch, strCommaSpace...)
			}
			scratch = append(scratch, v...)
		}
	} else {
		out.Del("Forwarded")
		out.Del("X-Real-Ip")
		out.DelBytes(strXFProto)
		out.DelBytes(strXFHost)
		removeClientClaims(out, &ctx.Request.Header)
	}
	if len(scratch) > 0 {
		scratch = append(scratch, strCommaSpace...)
	}
	if peer.IsValid() {
		scratch = peer.AppendTo(scratch)
	} else {
		scratch = append(scratch, "unknown"...)
	}
	out.DelBytes(strXFF)
	out.SetBytesKV(strXFF, scratch)

	if len(out.PeekBytes(strXFProto)) == 0 {
		if ctx.IsTLS() {
			out.SetBytesKV(strXFProto, strHTTPS)
		} else {
			out.SetBytesKV(strXFProto, strHTTP)
		}
	}
	if host := ctx.Host(); len(out.PeekBytes(strXFHost)) == 0 && len(host) > 0 {
		out.SetBytesKV(strXFHost, host)
	}
	return scratch
}

// clientClaims are request fields through which the proxy in front of an
// origin tells it who the client is or what it asked for: CDNs' client
// addresses, and the original URL, port and path prefix that IIS, Symfony,
// Spring and others honour for routing and access control. From a peer
// that is not a trusted proxy they are forgeries, so they are removed.
var clientClaims = [...][]byte{
	[]byte("True-Client-Ip"),
	[]byte("Cf-Connecting-Ip"),
	[]byte("Fastly-Client-Ip"),
	[]byte("X-Client-Ip"),
	[]byte("X-Cluster-Client-Ip"),
	[]byte("X-Original-Url"),
	[]byte("X-Rewrite-Url"),
	[]byte("X-Forwarded-Port"),
	[]byte("X-Forwarded-Prefix"),
	[]byte("X-Forwarded-Server"),
	[]byte("X-Forwarded-Scheme"),
	[]byte("X-Forwarded-Ssl"),
}

// isClientClaim reports whether field k is one of clientClaims.
func isClientClaim(k []byte) bool {
	for _, c := range clientClaims {
		if len(k) == len(c) && bytes.EqualFold(k, c) {
			return true
		}
	}
	return false
}

// removeClientClaims deletes every clientClaims field from out, the copy
// of in. It looks in in's fields as received first, so that the usual
// request, which has none, costs one pass. (All would parse and rewrite
// the Cookie field, which must reach the origin verbatim.)
func removeClientClaims(out, in *fasthttp.RequestHeader) {
	found := false
	for k := range in.AllInOrder() {
		if isClientClaim(k) {
			found = true
			break
		}
	}
	if !found {
		return
	}
	for _, c := range clientClaims {
		out.DelBytes(c)
	}
}

// clientIP resolves the visitor's address: the peer, or, when the peer is a
// trusted proxy, the right-most X-Forwarded-For entry that is not itself a
// trusted proxy.
func (s *Server) clientIP(h *fasthttp.RequestHeader, peer netip.Addr) netip.Addr {
	return ClientAddr(h, peer, s.trustedProxies)
}

// ClientAddr resolves the visitor's address as the proxy does, for
// handlers that see a request before it (LocalHandler): the peer, or, when
// the peer is in trusted, the right-most X-Forwarded-For entry that is not
// itself in trusted. It does not allocate.
func ClientAddr(h *fasthttp.RequestHeader, peer netip.Addr, trusted []netip.Prefix) netip.Addr {
	if !Trusted(peer, trusted) {
		return peer
	}
	client := peer
	all := h.PeekAll(fasthttp.HeaderXForwardedFor)
	for i := len(all) - 1; i >= 0; i-- {
		v := all[i]
		for len(v) > 0 {
			j := bytes.LastIndexByte(v, ',')
			tok := httpfield.TrimOWS(v[j+1:])
			if j < 0 {
				v = nil
			} else {
				v = v[:j]
			}
			ip, err := netip.ParseAddr(b2s(tok))
			if err != nil {
				return client
			}
			client = ip.Unmap()
			if !Trusted(client, trusted) {
				return client
			}
		}
	}
	return client
}

// respMode says how much of the origin's response header survives.
type respMode uint8

const (
	// modeExact keeps every end-to-end field of the origin.
	modeExact respMode = iota
	// modePrivate is for a page with slots served with the origin's bytes:
	// caching fields are replaced, CDN-targeted caching fields and
	// validators dropped.
	modePrivate
	// modeRewritten is modePrivate for a body the proxy produced: the
	// origin's representation metadata (coding, length, digest) goes too.
	modeRewritten
)

// String returns the mode's name.
func (m respMode) String() string {
	switch m {
	case modeExact:
		return "exact"
	case modePrivate:
		return "private"
	case modeRewritten:
		return "rewritten"
	default:
		return "unknown"
	}
}

var (
	strETag            = []byte(fasthttp.HeaderETag)
	strLastModified    = []byte(fasthttp.HeaderLastModified)
	strContentEncoding = []byte(fasthttp.HeaderContentEncoding)
	strContentMD5      = []byte("Content-Md5")
	strContentDigest   = []byte("Content-Digest")
	strContentLength   = []byte(fasthttp.HeaderContentLength)
)

// copyResponseHeader copies the origin's status and end-to-end fields onto
// dst in one ordered pass. It never deletes from dst, because fasthttp's
// delete reorders the remaining fields and the order of same-name fields is
// significant (RFC 9110 §5.3). In modePrivate and modeRewritten a response
// that depends on the visitor is made uncacheable by shared caches
// (RFC 9111 §5.2.2.7): Cache-Control gains private and loses public and
// s-maxage while no-store, no-cache, max-age and the rest stay; fields that
// steer a CDN instead of Cache-Control go (see isTargetedCacheControl); Vary gains
// Cookie (and Accept-Encoding when rewritten); ETag and Last-Modified go, so
// that no cache can revalidate one visitor's page into another's
// (RFC 9110 §8.8). Content-Length is set from the origin's; a body set later
// overrides it.
func copyResponseHeader(dst, src *fasthttp.ResponseHeader, mode respMode, scratch []byte) []byte {
	dst.SetNoDefaultContentType(true)
	dst.SetStatusCode(src.StatusCode())
	if msg := src.StatusMessage(); len(msg) > 0 {
		dst.SetStatusMessage(msg)
	}
	tokens := appendConnectionTokens(scratch[:0], src.PeekAll(fasthttp.HeaderConnection))
	for k, v := range src.All() {
		if isHopByHop(k, tokens) || bytes.EqualFold(k, strContentLength) {
			continue
		}
		if mode != modeExact && (bytes.EqualFold(k, strCacheControl) || bytes.EqualFold(k, strVary) ||
			bytes.EqualFold(k, strETag) || bytes.EqualFold(k, strLastModified) || isTargetedCacheControl(k)) {
			continue
		}
		if mode == modeRewritten && (bytes.EqualFold(k, strContentEncoding) ||
			bytes.EqualFold(k, strContentMD5) || bytes.EqualFold(k, strContentDigest)) {
			continue
		}
		dst.AddBytesKV(k, v)
	}
	if mode != modeExact {
		scratch = appendPrivateCacheControl(tokens[:0], src)
		dst.SetBytesKV(strCacheControl, scratch)
		var also []byte
		if mode == modeRewritten {
			also = strAcceptEncoding
		}
		scratch = appendVary(scratch[:0], src, strCookie, also)
		dst.SetBytesKV(strVary, scratch)
	} else {
		scratch = tokens
	}
	dst.SetContentLength(src.ContentLength())
	return scratch
}

var (
	strSurrogateControl = []byte("Surrogate-Control")
	strEdgeControl      = []byte("Edge-Control")
	strXAccelExpires    = []byte("X-Accel-Expires")
	strCDNCacheControl  = []byte("CDN-Cache-Control")
)

// isTargetedCacheControl reports whether k is a caching field aimed at a
// CDN or a reverse proxy rather than at every cache: CDN-Cache-Control and
// any vendor's *-CDN-Cache-Control (RFC 9213), Surrogate-Control (Fastly,
// Varnish, Akamai), Edge-Control (Akamai) and X-Accel-Expires (nginx). A
// cache that honours one of them ignores Cache-Control, so on a page that
// depends on the visitor they would store one visitor's page for all; the
// proxy drops them there (RFC 9213 §2.1 lets an intermediary remove them).
func isTargetedCacheControl(k []byte) bool {
	if bytes.EqualFold(k, strSurrogateControl) || bytes.EqualFold(k, strEdgeControl) ||
		bytes.EqualFold(k, strXAccelExpires) {
		return true
	}
	n := len(strCDNCacheControl)
	return len(k) >= n && bytes.EqualFold(k[len(k)-n:], strCDNCacheControl) &&
		(len(k) == n || k[len(k)-n-1] == '-')
}

// appendConnectionTokens appends, comma-terminated, the field names listed
// in Connection values other than close and keep-alive.
func appendConnectionTokens(dst []byte, values [][]byte) []byte {
	for _, v := range values {
		for tok, rest := httpfield.Next(v); tok != nil || len(rest) > 0; tok, rest = httpfield.Next(rest) {
			if len(tok) == 0 || bytes.EqualFold(tok, strClose) || bytes.EqualFold(tok, strKeepAlive) {
				continue
			}
			dst = append(dst, tok...)
			dst = append(dst, ',')
		}
	}
	return dst
}

// isHopByHop reports whether field k is hop-by-hop: in the fixed list or
// named by Connection (tokens as from appendConnectionTokens).
func isHopByHop(k, tokens []byte) bool {
	for _, h := range hopByHop {
		if len(k) == len(h) && bytes.EqualFold(k, []byte(h)) {
			return true
		}
	}
	for len(tokens) > 0 {
		i := bytes.IndexByte(tokens, ',')
		if bytes.EqualFold(k, tokens[:i]) {
			return true
		}
		tokens = tokens[i+1:]
	}
	return false
}

// appendPrivateCacheControl appends the Cache-Control value for a
// visitor-dependent version of src: private first, then src's directives
// except public, s-maxage and private itself.
func appendPrivateCacheControl(dst []byte, src *fasthttp.ResponseHeader) []byte {
	dst = append(dst, strPrivate...)
	for _, v := range src.PeekAll(fasthttp.HeaderCacheControl) {
		for tok, rest := httpfield.Next(v); tok != nil || len(rest) > 0; tok, rest = httpfield.Next(rest) {
			if len(tok) == 0 || bytes.EqualFold(tok, strPrivate) || bytes.EqualFold(tok, strPublic) ||
				hasDirective(tok, strSMaxAge) || hasDirective(tok, strPrivate) {
				continue
			}
			dst = append(dst, strCommaSpace...)
			dst = append(dst, tok...)
		}
	}
	return dst
}

// hasDirective reports whether tok is the directive name with an argument
// ("s-maxage=60", `private="Set-Cookie"`).
func hasDirective(tok, name []byte) bool {
	return len(tok) > len(name) && tok[len(name)] == '=' && bytes.EqualFold(tok[:len(name)], name)
}

// appendVary appends src's Vary values, in order, then name1 and name2
// (either may be nil) unless already listed, keeping every other value
// (RFC 9110 §12.5.5). A "*" stays alone: it already varies on everything.
func appendVary(dst []byte, src *fasthttp.ResponseHeader, name1, name2 []byte) []byte {
	start := len(dst)
	has1, has2 := name1 == nil, name2 == nil
	for _, v := range src.PeekAll(fasthttp.HeaderVary) {
		for tok, rest := httpfield.Next(v); tok != nil || len(rest) > 0; tok, rest = httpfield.Next(rest) {
			if len(tok) == 0 {
				continue
			}
			if len(tok) == 1 && tok[0] == '*' {
				return append(dst[:start], '*')
			}
			has1 = has1 || bytes.EqualFold(tok, name1)
			has2 = has2 || bytes.EqualFold(tok, name2)
			dst = appendListItem(dst, start, tok)
		}
	}
	if !has1 {
		dst = appendListItem(dst, start, name1)
	}
	if !has2 {
		dst = appendListItem(dst, start, name2)
	}
	return dst
}

func appendListItem(dst []byte, start int, item []byte) []byte {
	if len(dst) > start {
		dst = append(dst, strCommaSpace...)
	}
	return append(dst, item...)
}

// b2s views b as a string without copying, for parsers that do not retain
// their argument.
func b2s(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }
