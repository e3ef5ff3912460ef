package personalize

import (
	"bytes"
	"strconv"
	"time"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// A strict reader for the two JSON objects of a JWT, the header and the
// claims, that allocates nothing. It reads only what signature checks have
// already authenticated, and it accepts a subset of what encoding/json
// accepts, giving the same result where both accept:
//
//   - the whole part must be one JSON object, with whitespace around it;
//   - every other member is skipped, but must be valid JSON nested at most
//     maxJSONDepth deep;
//   - a member that encoding/json would match to a field it reads, that is
//     a key equal to the field's name under its case folding (say "SUB" or
//     "ſub" for "sub"), is refused unless it is the exact name, and an
//     exact name given twice is refused, so no two readers of the same
//     token can disagree on which value counts.

// maxJSONDepth bounds the nesting of arrays and objects in a JWT part.
const maxJSONDepth = 32

// jwtHeaderOK reports whether hdr is a JWT header this proxy can verify:
// "alg" is "HS256", and there is no "crit" naming extensions it would have
// to understand. Other members ("typ", "kid", ...) are ignored.
func jwtHeaderOK(hdr []byte) bool {
	s := jsonScan{b: hdr}
	if !s.consume('{') {
		return false
	}
	alg := false
	for first := true; ; first = false {
		key, end, ok := s.member(first)
		if !ok {
			return false
		}
		if end {
			break
		}
		field, fold := fieldOf(key, "alg", "crit")
		switch {
		case fold:
			return false
		case field == 0:
			v, ok := s.str()
			if !ok || alg || !jsonStrIs(v, "HS256") {
				return false
			}
			alg = true
		case field == 1:
			return false
		default:
			if !s.skipValue(1) {
				return false
			}
		}
	}
	return alg && s.end()
}

// jwtClaims reads the claims of a JWT and, when "sub" is a non-empty
// string and "exp" and "nbf" are numbers that hold at now or absent,
// appends sub, trimmed of white space, to dst.
func jwtClaims(dst, claims []byte, now time.Time) ([]byte, bool) {
	s := jsonScan{b: claims}
	if !s.consume('{') {
		return dst, false
	}
	var sub []byte
	var exp, nbf []byte
	for first := true; ; first = false {
		key, end, ok := s.member(first)
		if !ok {
			return dst, false
		}
		if end {
			break
		}
		var v []byte
		field, fold := fieldOf(key, "sub", "exp", "nbf")
		switch {
		case fold:
			return dst, false
		case field == 0:
			if v, ok = s.str(); !ok || sub != nil {
				return dst, false
			}
			sub = v
		case field == 1:
			if v, ok = s.num(); !ok || exp != nil {
				return dst, false
			}
			exp = v
		case field == 2:
			if v, ok = s.num(); !ok || nbf != nil {
				return dst, false
			}
			nbf = v
		default:
			if !s.skipValue(1) {
				return dst, false
			}
		}
	}
	if !s.end() || len(sub) == 0 {
		return dst, false
	}
	unix := float64(now.Unix())
	if exp != nil {
		t, err := strconv.ParseFloat(b2s(exp), 64)
		if err != nil || unix >= t {
			return dst, false
		}
	}
	if nbf != nil {
		t, err := strconv.ParseFloat(b2s(nbf), 64)
		if err != nil || unix < t {
			return dst, false
		}
	}
	start := len(dst)
	dst = appendJSONStr(dst, sub)
	id := bytes.TrimSpace(dst[start:])
	n := copy(dst[start:], id)
	return dst[:start+n], true
}

// jsonScan reads JSON from b, position i.
type jsonScan struct {
	b []byte
	i int
}

func (s *jsonScan) skipWS() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// consume skips white space and then c, reporting whether c was next.
func (s *jsonScan) consume(c byte) bool {
	s.skipWS()
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

// end reports whether only white space is left.
func (s *jsonScan) end() bool {
	s.skipWS()
	return s.i == len(s.b)
}

// member reads up to the value of an object's next member, after its '{'
// (first) or after its previous member's value, and returns the member's
// key, or end at the object's closing brace.
func (s *jsonScan) member(first bool) (key []byte, end, ok bool) {
	if s.consume('}') {
		return nil, true, true
	}
	if !first && !s.consume(',') {
		return nil, false, false
	}
	if key, ok = s.str(); !ok || !s.consume(':') {
		return nil, false, false
	}
	return key, false, true
}

// str reads a string and returns what is between its quotes, escapes
// checked but not decoded.
func (s *jsonScan) str() ([]byte, bool) {
	if !s.consume('"') {
		return nil, false
	}
	start := s.i
	for i := start; i < len(s.b); i++ {
		switch c := s.b[i]; {
		case c == '"':
			s.i = i + 1
			return s.b[start:i], true
		case c < 0x20:
			return nil, false
		case c == '\\':
			i++
			if i >= len(s.b) {
				return nil, false
			}
			switch s.b[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if i+4 >= len(s.b) || hex4(s.b[i+1:i+5]) < 0 {
					return nil, false
				}
				i += 4
			default:
				return nil, false
			}
		}
	}
	return nil, false
}

// num reads a number and returns its text.
func (s *jsonScan) num() ([]byte, bool) {
	s.skipWS()
	b, i := s.b, s.i
	digits := func() bool {
		j := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		return i > j
	}
	if i < len(b) && b[i] == '-' {
		i++
	}
	if i < len(b) && b[i] == '0' {
		i++
	} else if !digits() {
		return nil, false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if !digits() {
			return nil, false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if !digits() {
			return nil, false
		}
	}
	start := s.i
	s.i = i
	return b[start:i], true
}

// skipValue reads any value, which is nested depth deep.
func (s *jsonScan) skipValue(depth int) bool {
	if depth > maxJSONDepth {
		return false
	}
	s.skipWS()
	if s.i >= len(s.b) {
		return false
	}
	switch s.b[s.i] {
	case '"':
		_, ok := s.str()
		return ok
	case '{':
		s.i++
		for first := true; ; first = false {
			_, end, ok := s.member(first)
			if !ok {
				return false
			}
			if end {
				return true
			}
			if !s.skipValue(depth + 1) {
				return false
			}
		}
	case '[':
		s.i++
		if s.consume(']') {
			return true
		}
		for {
			if !s.skipValue(depth + 1) {
				return false
			}
			if !s.consume(',') {
				return s.consume(']')
			}
		}
	case 't':
		return s.literal("true")
	case 'f':
		return s.literal("false")
	case 'n':
		return s.literal("null")
	}
	_, ok := s.num()
	return ok
}

func (s *jsonScan) literal(lit string) bool {
	if len(s.b)-s.i < len(lit) || string(s.b[s.i:s.i+len(lit)]) != lit {
		return false
	}
	s.i += len(lit)
	return true
}

// hex4 returns the value of four hex digits, or -1.
func hex4(b []byte) rune {
	var r rune
	for _, c := range b[:4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return -1
		}
		r = r<<4 | rune(c)
	}
	return r
}

// jsonRune decodes the first character of raw, the checked contents of a
// JSON string, as encoding/json does: invalid UTF-8 and unpaired
// surrogates become U+FFFD. It returns the rune and how many bytes of raw
// it took.
func jsonRune(raw []byte) (rune, int) {
	c := raw[0]
	if c != '\\' {
		if c < utf8.RuneSelf {
			return rune(c), 1
		}
		return utf8.DecodeRune(raw)
	}
	switch raw[1] {
	case 'b':
		return '\b', 2
	case 'f':
		return '\f', 2
	case 'n':
		return '\n', 2
	case 'r':
		return '\r', 2
	case 't':
		return '\t', 2
	case 'u':
		r := hex4(raw[2:6])
		if !utf16.IsSurrogate(r) {
			return r, 6
		}
		if len(raw) >= 12 && raw[6] == '\\' && raw[7] == 'u' {
			if d := utf16.DecodeRune(r, hex4(raw[8:12])); d != unicode.ReplacementChar {
				return d, 12
			}
		}
		return unicode.ReplacementChar, 6
	}
	return rune(raw[1]), 2 // '"', '\\' or '/'
}

// appendJSONStr appends the decoded string raw to dst.
func appendJSONStr(dst, raw []byte) []byte {
	for len(raw) > 0 {
		r, n := jsonRune(raw)
		dst = utf8.AppendRune(dst, r)
		raw = raw[n:]
	}
	return dst
}

// jsonStrIs reports whether the string raw decodes to s.
func jsonStrIs(raw []byte, s string) bool {
	for i := 0; i < len(s); i++ {
		if len(raw) == 0 {
			return false
		}
		r, n := jsonRune(raw)
		if r != rune(s[i]) {
			return false
		}
		raw = raw[n:]
	}
	return len(raw) == 0
}

// fieldOf returns which of names, lower-case ASCII, key (a member's raw
// key) is, or -1 for none. fold reports a key that encoding/json would
// match to one of names, unicode.ToUpper of each rune being equal, but
// that is not the exact name; it is refused.
func fieldOf(key []byte, names ...string) (field int, fold bool) {
	for i, n := range names {
		if jsonStrFolds(key, n) {
			return i, !jsonStrIs(key, n)
		}
	}
	return -1, false
}

// jsonStrFolds reports whether the string raw decodes to s under
// encoding/json's case folding, unicode.ToUpper of each rune; s is
// ASCII.
func jsonStrFolds(raw []byte, s string) bool {
	for i := 0; i < len(s); i++ {
		if len(raw) == 0 {
			return false
		}
		r, n := jsonRune(raw)
		if unicode.ToUpper(r) != unicode.ToUpper(rune(s[i])) {
			return false
		}
		raw = raw[n:]
	}
	return len(raw) == 0
}
