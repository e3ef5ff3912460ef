package cache

import (
	"bytes"

	"github.com/marquee-proxy/marquee/internal/httpfield"
)

// Content codings as a variant dimension. Origins that compress by the
// request's Accept-Encoding do not always say so with Vary (nginx's
// gzip_vary is off by default), and a gzip body served to a client that
// did not ask for it is unreadable. So a coded response always varies on
// Accept-Encoding, and the key holds not the raw field, which differs in
// every browser's spelling and would exhaust a URL's maxVariants, but the
// set of known codings it accepts: at most 16 variants, and every client
// of one variant can read its coding. Serving coded bodies decoded to the
// other clients was the alternative; it would cost a decode per hit of
// every CSS and script, where this costs one origin fetch per set.

// Known content codings, as bits of an accepted set.
const (
	acceptGzip = 1 << iota
	acceptBr
	acceptDeflate
	acceptZstd
	acceptAll = acceptGzip | acceptBr | acceptDeflate | acceptZstd
)

var strAcceptEncoding = "Accept-Encoding"

// codingVaryOnly reports whether Vary names are Accept-Encoding alone.
func codingVaryOnly(names []string) bool {
	return len(names) == 1 && names[0] == strAcceptEncoding
}

// codingBit returns the bit of a known coding name, 0 for others.
func codingBit(name []byte) uint8 {
	switch {
	case bytes.EqualFold(name, []byte("gzip")), bytes.EqualFold(name, []byte("x-gzip")):
		return acceptGzip
	case bytes.EqualFold(name, []byte("br")):
		return acceptBr
	case bytes.EqualFold(name, []byte("deflate")):
		return acceptDeflate
	case bytes.EqualFold(name, []byte("zstd")):
		return acceptZstd
	}
	return 0
}

// responseCoding reports whether a Content-Encoding value codes the body,
// and whether every coding it names is a known one.
func responseCoding(v []byte) (coded, known bool) {
	known = true
	for tok, rest := httpfield.Next(v); tok != nil || len(rest) > 0; tok, rest = httpfield.Next(rest) {
		if len(tok) == 0 || bytes.EqualFold(tok, []byte("identity")) {
			continue
		}
		coded = true
		known = known && codingBit(tok) != 0
	}
	return coded, known
}

// accepted adds to acc, refused, star the codings one Accept-Encoding
// value accepts (q > 0), refuses (q = 0), and the weight of "*".
func accepted(v []byte, acc, refused uint8, star int) (uint8, uint8, int) {
	for tok, rest := httpfield.Next(v); tok != nil || len(rest) > 0; tok, rest = httpfield.Next(rest) {
		name, params := tok, []byte(nil)
		if i := bytes.IndexByte(tok, ';'); i >= 0 {
			name, params = httpfield.TrimOWS(tok[:i]), tok[i+1:]
		}
		q := httpfield.ParseQ(params)
		if len(name) == 1 && name[0] == '*' {
			star = q
			continue
		}
		if bit := codingBit(name); q > 0 {
			acc |= bit
		} else {
			refused |= bit
		}
	}
	return acc, refused, star
}

// acceptClass returns the byte that stands for the known codings the
// Accept-Encoding values vs accept (RFC 9110 §12.5.3): listed with a
// nonzero weight, or covered by "*".
func acceptClass(acc, refused uint8, star int) byte {
	if star > 0 {
		acc |= acceptAll &^ refused
	}
	return 'a' + acc&^refused
}
