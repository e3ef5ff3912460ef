package export

import (
	"bytes"
	"errors"

	"github.com/marquee-proxy/marquee/internal/httpfield"
)

// DefaultQuery is the query parameters a record's url keeps when
// Options.Query is nil: campaign tracking, which says where a visit came
// from, and nothing that may carry a token or a person's data.
var DefaultQuery = []string{"utm_*", "gclid", "fbclid"}

// ErrQueryPattern is returned by New for an Options.Query entry that is
// neither a parameter name, nor a name prefix followed by "*", nor "*".
var ErrQueryPattern = errors.New("export: query pattern")

// appendFilteredURL appends url, a path and query, with only the kept
// query parameters, in order and as written, joined by "&"; "?" only when
// one is left. Parameters are separated by "&" and by ";", which some
// servers take for one, so that a kept name's value cannot smuggle another
// parameter out. A fragment is dropped.
func appendFilteredURL(k *httpfield.Names, dst, url []byte) []byte {
	if i := bytes.IndexByte(url, '#'); i >= 0 {
		url = url[:i]
	}
	q := bytes.IndexByte(url, '?')
	if q < 0 {
		return append(dst, url...)
	}
	dst = append(dst, url[:q]...)
	if k.All() {
		if q+1 < len(url) {
			dst = append(dst, url[q:]...)
		}
		return dst
	}
	sep := byte('?')
	rest := url[q+1:]
	for len(rest) > 0 {
		pair := rest
		if end := bytes.IndexAny(rest, "&;"); end >= 0 {
			pair, rest = rest[:end], rest[end+1:]
		} else {
			rest = nil
		}
		name := pair
		if i := bytes.IndexByte(pair, '='); i >= 0 {
			name = pair[:i]
		}
		if len(name) == 0 || !k.Match(name) {
			continue
		}
		dst = append(dst, sep)
		dst = append(dst, pair...)
		sep = '&'
	}
	return dst
}
