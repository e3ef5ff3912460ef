package personalize

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"time"
)

// CustomerVerifier checks a site's signed login cookie, in one of the
// CustomerFormat formats, and yields the customer id it carries. Its HMAC
// states are pooled per key, as Signer's are, so a valid cookie is
// verified without allocating. It is safe for concurrent use.
type CustomerVerifier struct {
	format CustomerFormat
	keys   []macKey
	now    func() time.Time
}

// NewCustomerVerifier returns a verifier of login cookies in format
// signed under any of keys, which must not be empty. now is the clock for
// a JWT's exp and nbf; nil means time.Now.
func NewCustomerVerifier(format CustomerFormat, keys [][]byte, now func() time.Time) (*CustomerVerifier, error) {
	if format != CustomerHMAC && format != CustomerJWT {
		return nil, errors.New("personalize: unknown customer cookie format")
	}
	if len(keys) == 0 {
		return nil, errors.New("personalize: a customer cookie needs keys to verify it")
	}
	if now == nil {
		now = time.Now
	}
	v := &CustomerVerifier{format: format, keys: make([]macKey, len(keys)), now: now}
	for i, k := range keys {
		if len(k) == 0 {
			return nil, errors.New("personalize: an empty customer cookie key")
		}
		v.keys[i].init(k)
	}
	return v, nil
}

// AppendVerify checks a login cookie value and, when it verifies, appends
// the customer id it carries to dst and returns it with true. Otherwise
// it returns dst unchanged and false: a forged, truncated or unknown-key
// value, and for a JWT one that is larger than 4 KiB, not signed HS256, or
// expired or not yet valid. The id is as signed, save that a JWT's "sub"
// is trimmed of white space; checking that it is a valid id is up to the
// caller.
func (v *CustomerVerifier) AppendVerify(dst, value []byte) ([]byte, bool) {
	if v.format == CustomerJWT {
		return v.appendJWT(dst, value, v.now())
	}
	return v.appendHMAC(dst, value)
}

// match reports whether mac is the MAC of msg under one of the keys. It
// compares in constant time.
func (v *CustomerVerifier) match(msg, mac []byte) bool {
	var sum [sha256.Size]byte
	for i := range v.keys {
		v.keys[i].sum(&sum, msg)
		if hmac.Equal(sum[:], mac) {
			return true
		}
	}
	return false
}

// macB64Len is the length of an unpadded base64 HMAC-SHA256.
const macB64Len = (sha256.Size*8 + 5) / 6

// appendHMAC checks an "ID.MAC" value and appends ID.
func (v *CustomerVerifier) appendHMAC(dst, value []byte) ([]byte, bool) {
	i := bytes.LastIndexByte(value, '.')
	if i <= 0 || len(value)-(i+1) != macB64Len {
		return dst, false
	}
	var mac [sha256.Size]byte
	if n, err := b64.Decode(mac[:], value[i+1:]); err != nil || n != sha256.Size {
		return dst, false
	}
	if !v.match(value[:i], mac[:]) {
		return dst, false
	}
	return append(dst, value[:i]...), true
}

// maxJWT bounds a token's length.
const maxJWT = 4096

// appendJWT checks a compact JWS signed HS256 with one of the keys (RFC
// 7515, RFC 7519): the header must name alg HS256 and nothing else that
// changes how to verify; exp and nbf, when present, must be numbers that
// hold at now. It appends the "sub" claim.
func (v *CustomerVerifier) appendJWT(dst, tok []byte, now time.Time) ([]byte, bool) {
	if len(tok) > maxJWT {
		return dst, false
	}
	h := bytes.IndexByte(tok, '.')
	if h < 0 {
		return dst, false
	}
	c := bytes.IndexByte(tok[h+1:], '.')
	if c < 0 {
		return dst, false
	}
	c += h + 1
	sig := tok[c+1:]
	if len(sig) != macB64Len {
		return dst, false
	}
	var mac [sha256.Size]byte
	if n, err := b64.Decode(mac[:], sig); err != nil || n != sha256.Size {
		return dst, false
	}
	if !v.match(tok[:c], mac[:]) {
		return dst, false
	}
	// The header and claims are decoded into buf in turn; a token of at
	// most maxJWT bytes fits.
	var buf [maxJWT / 4 * 3]byte
	n, err := b64.Decode(buf[:], tok[:h])
	if err != nil || !jwtHeaderOK(buf[:n]) {
		return dst, false
	}
	if n, err = b64.Decode(buf[:], tok[h+1:c]); err != nil {
		return dst, false
	}
	return jwtClaims(dst, buf[:n], now)
}
