package export

import (
	"errors"
	"fmt"
	"strings"

	"github.com/marquee-proxy/marquee/internal/httpfield"
)

// DefaultQuery is the query parameters a record's url keeps when
// Options.Query is nil: campaign tracking, which says where a visit came
// from, and nothing that may carry a token or a person's data.
var DefaultQuery = []string{"utm_*", "gclid", "fbclid"}

// ErrQueryPattern is returned by New for an Options.Query entry that is
// neither a parameter name, nor a name prefix followed by "*", nor "*".
var ErrQueryPattern = errors.New("export: query pattern")

// maxQueryName bounds a pattern's length, and so the names a url keeps:
// a longer name is decoded without a buffer of its own.
const maxQueryName = 64

// queryKeep is Options.Query compiled: the parameters a url keeps.
type queryKeep struct {
	all      bool
	exact    []string
	prefixes []string
}

// compileQuery compiles patterns: exact names, prefixes ending in "*"
// ("utm_*"), and "*" for every parameter.
func compileQuery(patterns []string) (queryKeep, error) {
	var k queryKeep
	for _, p := range patterns {
		star := strings.IndexByte(p, '*')
		switch {
		case p == "*":
			k.all = true
		case p == "":
			return k, fmt.Errorf("%w %q: want a name, a prefix ending in *, or *", ErrQueryPattern, p)
		case len(p) > maxQueryName:
			return k, fmt.Errorf("%w %q: longer than %d bytes", ErrQueryPattern, p, maxQueryName)
		case star < 0:
			k.exact = append(k.exact, p)
		case star == len(p)-1:
			k.prefixes = append(k.prefixes, p[:star])
		default:
			return k, fmt.Errorf("%w %q: * only at the end", ErrQueryPattern, p)
		}
	}
	return k, nil
}

// kept reports whether the raw parameter name, form-decoded ("%5F" is
// "_", "+" a space), is one a url keeps.
func (k *queryKeep) kept(raw []byte) bool {
	if k.all {
		return true
	}
	if len(raw) > 3*maxQueryName {
		return false // longer than any pattern, even escaped
	}
	var buf [3 * maxQueryName]byte
	name := httpfield.AppendFormUnescaped(buf[:0], raw)
	for _, e := range k.exact {
		if string(name) == e {
			return true
		}
	}
	for _, p := range k.prefixes {
		if len(name) >= len(p) && string(name[:len(p)]) == p {
			return true
		}
	}
	return false
}

// appendURL appends url, a path and query, with only the kept query
// parameters, in order and as written, joined by "&"; "?" only when one
// is left. Parameters are separated by "&" and by ";", which some servers
// take for one, so that a kept name's value cannot smuggle another
// parameter out. A fragment is dropped.
func (k *queryKeep) appendURL(dst, url []byte) []byte {
	for i, c := range url {
		if c == '#' {
			url = url[:i]
			break
		}
	}
	q := -1
	for i, c := range url {
		if c == '?' {
			q = i
			break
		}
	}
	if q < 0 {
		return append(dst, url...)
	}
	dst = append(dst, url[:q]...)
	if k.all {
		if q+1 < len(url) {
			dst = append(dst, url[q:]...)
		}
		return dst
	}
	sep := byte('?')
	rest := url[q+1:]
	for len(rest) > 0 {
		end := len(rest)
		for i, c := range rest {
			if c == '&' || c == ';' {
				end = i
				break
			}
		}
		pair := rest[:end]
		if end < len(rest) {
			rest = rest[end+1:]
		} else {
			rest = nil
		}
		name := pair
		for i, c := range pair {
			if c == '=' {
				name = pair[:i]
				break
			}
		}
		if len(name) == 0 || !k.kept(name) {
			continue
		}
		dst = append(dst, sep)
		dst = append(dst, pair...)
		sep = '&'
	}
	return dst
}
