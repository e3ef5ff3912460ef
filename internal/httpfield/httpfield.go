// Package httpfield parses the pieces of HTTP field values (RFC 9110 §5.6)
// that the proxy and the admin API both negotiate with: list elements and
// quality values; and form-encoded query components, which the proxy and
// the edge cache both match parameter names in. It works on byte slices and never allocates, because the
// proxy calls it on every request.
package httpfield

import "bytes"

// Next returns the first element of a comma-separated field value
// (RFC 9110 §5.6.1) with surrounding whitespace trimmed, and the rest.
// Empty elements yield a zero-length, non-nil tok.
func Next(v []byte) (tok, rest []byte) {
	if len(v) == 0 {
		return nil, nil
	}
	i := bytes.IndexByte(v, ',')
	if i < 0 {
		tok, rest = v, nil
	} else {
		tok, rest = v[:i], v[i+1:]
	}
	return TrimOWS(tok), rest
}

// TrimOWS trims optional whitespace (spaces and tabs, RFC 9110 §5.6.3) from
// both ends of b; it never returns nil.
func TrimOWS(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	if b == nil {
		return []byte{}
	}
	return b
}

// ParseQ returns the weight in params ("q=0.5") in thousandths; 1000 when
// absent and 0 when malformed (RFC 9110 §12.4.2).
func ParseQ(params []byte) int {
	for tok := params; len(tok) > 0; {
		var p []byte
		if i := bytes.IndexByte(tok, ';'); i >= 0 {
			p, tok = TrimOWS(tok[:i]), tok[i+1:]
		} else {
			p, tok = TrimOWS(tok), nil
		}
		if len(p) < 2 || (p[0] != 'q' && p[0] != 'Q') || p[1] != '=' {
			continue
		}
		v := p[2:]
		if len(v) == 0 || (v[0] != '0' && v[0] != '1') {
			return 0
		}
		q := int(v[0]-'0') * 1000
		if len(v) > 1 {
			if v[1] != '.' || len(v) > 5 {
				return 0
			}
			scale := 100
			for _, c := range v[2:] {
				if c < '0' || c > '9' {
					return 0
				}
				q += int(c-'0') * scale
				scale /= 10
			}
		}
		if q > 1000 {
			return 0 // "1.5" is not a qvalue
		}
		return q
	}
	return 1000
}

// EqualFoldASCII reports whether b is the lower-case ASCII string lower
// with its ASCII letters in any case. HTTP tokens, CSP directive names
// among them, compare so; bytes.EqualFold would also fold non-ASCII
// letters, taking "ſ" (U+017F) for "s".
func EqualFoldASCII(b []byte, lower string) bool {
	if len(b) != len(lower) {
		return false
	}
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}
