package cache

import (
	"errors"
	"fmt"
	"strings"

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

// queryFilter is Options.IgnoreQuery compiled: exact names and name
// prefixes ("utm_*").
type queryFilter struct {
	exact    []string
	prefixes []string
}

func compileIgnore(patterns []string) (queryFilter, error) {
	var f queryFilter
	for _, p := range patterns {
		star := strings.IndexByte(p, '*')
		switch {
		case p == "" || p == "*":
			return f, fmt.Errorf("%w %q: want a name or a prefix ending in *", ErrIgnorePattern, p)
		case star < 0:
			f.exact = append(f.exact, p)
		case star == len(p)-1:
			f.prefixes = append(f.prefixes, p[:star])
		default:
			return f, fmt.Errorf("%w %q: * only at the end", ErrIgnorePattern, p)
		}
	}
	return f, nil
}

func (f *queryFilter) empty() bool { return len(f.exact) == 0 && len(f.prefixes) == 0 }

// ignored reports whether the raw query parameter name, decoded as a form
// key ("%5F" is "_", "+" a space), is one the key leaves out.
func (f *queryFilter) ignored(raw []byte) bool {
	var buf [64]byte
	name := raw
	if len(raw) <= len(buf) && hasEscape(raw) {
		name = httpfield.AppendFormUnescaped(buf[:0], raw)
	}
	for _, e := range f.exact {
		if string(name) == e {
			return true
		}
	}
	for _, p := range f.prefixes {
		if len(name) >= len(p) && string(name[:len(p)]) == p {
			return true
		}
	}
	return false
}

func hasEscape(b []byte) bool {
	for _, c := range b {
		if c == '%' || c == '+' {
			return true
		}
	}
	return false
}

// AppendKey appends the primary key of a request to dst: its scheme
// (https when tls), its host lower-cased, and its origin-form target
// ("/path?query") with the ignored query parameters left out. It does not
// allocate beyond growing dst.
func (c *Cache) AppendKey(dst []byte, tls bool, host, target []byte) []byte {
	return c.ignore.appendKey(dst, tls, host, target)
}

func (f *queryFilter) appendKey(dst []byte, tls bool, host, target []byte) []byte {
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
	q := -1
	for i, ch := range target {
		if ch == '?' {
			q = i
			break
		}
	}
	if q < 0 || f.empty() {
		return append(dst, target...)
	}
	dst = append(dst, target[:q]...)
	return f.appendQuery(dst, target[q+1:])
}

// appendQuery appends "?" and the parameters of the raw query q that are
// not ignored, in order and as written, or nothing when none is left.
func (f *queryFilter) appendQuery(dst, q []byte) []byte {
	start := len(dst)
	for {
		var pair []byte
		amp := -1
		for i, ch := range q {
			if ch == '&' {
				amp = i
				break
			}
		}
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
		if len(pair) > 0 && (semi || !f.ignored(name)) {
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
