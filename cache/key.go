package cache

import (
	"bytes"
	"errors"

	"github.com/marquee-proxy/marquee/internal/httpfield"
)

// Keys. The primary key of a stored response is the URL the client asked
// for, "scheme://host/path?query" (RFC 9111 §2), with the host lower-cased
// and the query's parameters kept in order and as written, except those
// named by Options.IgnoreQuery (but for pairs holding ';', see appendQuery):
// tracking parameters (utm_*, gclid) that the
// origin ignores would otherwise give every campaign click its own copy of
// the page. The origin still receives them.
//
// A response with Vary is stored under a secondary key as well: the primary
// key, then the request's value of each field Vary names (RFC 9111 §4.1).
// The primary key then holds a marker naming those fields.

// ErrIgnorePattern is returned by New for an IgnoreQuery entry that is
// neither a parameter name nor a name prefix followed by "*".
var ErrIgnorePattern = errors.New("cache: ignore_query pattern")

// AppendKey appends the primary key of a request to dst: its scheme
// (https when tls), its host lower-cased, and its origin-form target
// ("/path?query") with the ignored query parameters left out. It does not
// allocate beyond growing dst.
func (c *Cache) AppendKey(dst []byte, tls bool, host, target []byte) []byte {
	return appendKey(&c.ignore, dst, tls, host, target)
}

func appendKey(f *httpfield.Names, dst []byte, tls bool, host, target []byte) []byte {
	if tls {
		dst = append(dst, "https://"...)
	} else {
		dst = append(dst, "http://"...)
	}
	for _, ch := range host {
		if 'A' <= ch && ch <= 'Z' {
			ch += 'a' - 'A'
		}
		dst = append(dst, ch)
	}
	q := bytes.IndexByte(target, '?')
	if q < 0 || f.Empty() {
		return append(dst, target...)
	}
	dst = append(dst, target[:q]...)
	return appendQuery(f, dst, target[q+1:])
}

// appendQuery appends "?" and the parameters of the raw query q that are
// not ignored, in order and as written, or nothing when none is left.
func appendQuery(f *httpfield.Names, dst, q []byte) []byte {
	start := len(dst)
	for {
		var pair []byte
		amp := bytes.IndexByte(q, '&')
		if amp < 0 {
			pair, q = q, nil
		} else {
			pair, q = q[:amp], q[amp+1:]
		}
		name, semi := pair, false
		for i, ch := range pair {
			if ch == '=' && len(name) == len(pair) {
				name = pair[:i]
			}
			semi = semi || ch == ';'
		}
		// A pair with ';' is never ignored: origins that also split on ';'
		// (Rack before 3, Python before 3.9.2) read "utm_source=x;page=2"
		// as page=2, which the key must then keep.
		if len(pair) > 0 && (semi || !f.Match(name)) {
			if len(dst) == start {
				dst = append(dst, '?')
			} else {
				dst = append(dst, '&')
			}
			dst = append(dst, pair...)
		}
		if amp < 0 {
			break
		}
	}
	return dst
}
