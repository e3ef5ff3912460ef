package cache

import (
	"bytes"

	"github.com/marquee-proxy/marquee/internal/httpfield"
)

// appendSecondary appends, for each field name, a NUL and req's value of
// it (trimmed), the secondary key's tail. A field sent more than once
// counts as one list of all its values (RFC 9110 §5.3), when req can give
// them (fieldLister). Accept-Encoding stands for the set of known codings
// it accepts (see coding.go).
func appendSecondary(dst []byte, names []string, req RequestHeader) []byte {
	l, all := req.(fieldLister)
	for _, n := range names {
		dst = append(dst, 0)
		switch {
		case n == strAcceptEncoding && all:
			acc, refused, star := uint8(0), uint8(0), -1
			for _, v := range l.PeekAll(n) {
				acc, refused, star = accepted(v, acc, refused, star)
			}
			dst = append(dst, acceptClass(acc, refused, star))
		case n == strAcceptEncoding:
			dst = append(dst, acceptClass(accepted(req.Peek(n), 0, 0, -1)))
		case all:
			for i, v := range l.PeekAll(n) {
				if i > 0 {
					dst = append(dst, ", "...)
				}
				dst = append(dst, bytes.Trim(v, " \t")...)
			}
		default:
			dst = append(dst, bytes.Trim(req.Peek(n), " \t")...)
		}
	}
	return dst
}

// fieldLister is a RequestHeader that gives every value of a field sent
// more than once; fasthttp.RequestHeader is one. The slices are valid
// until the next call.
type fieldLister interface {
	PeekAll(key string) [][]byte
}

// requestNoStore reports whether req's Cache-Control has no-store: no
// response to it may be stored (RFC 9111 §5.2.1.5).
func requestNoStore(req RequestHeader) bool {
	if l, ok := req.(fieldLister); ok {
		for _, v := range l.PeekAll("Cache-Control") {
			if hasDirective(v, "no-store") {
				return true
			}
		}
		return false
	}
	return hasDirective(req.Peek("Cache-Control"), "no-store")
}

// hasDirective reports whether a Cache-Control value names directive.
func hasDirective(cc []byte, directive string) bool {
	for tok, rest := httpfield.Next(cc); tok != nil || len(rest) > 0; tok, rest = httpfield.Next(rest) {
		if i := bytes.IndexByte(tok, '='); i >= 0 {
			tok = httpfield.TrimOWS(tok[:i])
		}
		if bytes.EqualFold(tok, []byte(directive)) {
			return true
		}
	}
	return false
}

// ClientWantsRevalidation reports whether req asks caches to revalidate
// (Cache-Control no-cache or max-age=0, Pragma no-cache; RFC 9111
// §5.2.1), when Options.HonorClientNoCache is set; otherwise false.
func (c *Cache) ClientWantsRevalidation(req RequestHeader) bool {
	if !c.opts.HonorClientNoCache {
		return false
	}
	cc := req.Peek("Cache-Control")
	return bytes.Contains(cc, strNoCache) || bytes.Contains(cc, strMaxAge0) ||
		(len(cc) == 0 && bytes.Contains(req.Peek("Pragma"), strNoCache))
}
