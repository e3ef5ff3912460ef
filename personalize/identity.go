package personalize

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"hash"
	"sync"

	"github.com/valyala/fasthttp"
)

// Visitor cookie layout: "<id>.<kid>.<mac>", each part base64url without
// padding. id is 16 random bytes; kid names the signing key by the first 6
// bytes of its SHA-256, so adding a key never invalidates cookies signed
// with another; mac is HMAC-SHA256 over "<id>.<kid>" truncated to 16 bytes.
const (
	visitorIDBytes = 16
	kidBytes       = 6
	macBytes       = 16

	// VisitorIDLen is the length of an encoded visitor id.
	VisitorIDLen = 22
	kidLen       = 8
	macLen       = 22
	// CookieValueLen is the length of a visitor cookie value.
	CookieValueLen = VisitorIDLen + 1 + kidLen + 1 + macLen
)

var b64 = base64.RawURLEncoding

// ErrNoKeys is returned by NewSigner without keys.
var ErrNoKeys = errors.New("personalize: no cookie-signing keys")

// Signer mints and verifies visitor cookie values. The first key signs;
// every key verifies. It is safe for concurrent use.
type Signer struct {
	keys []signingKey
}

type signingKey struct {
	kid [kidLen]byte
	macKey
}

// macKey is an HMAC-SHA256 key with its hash states pooled, so that
// computing a MAC allocates nothing. Signer and CustomerVerifier share it.
type macKey struct {
	macs sync.Pool // of *macState
}

// macState is an HMAC with its output buffer, pooled together so that
// computing a MAC allocates nothing.
type macState struct {
	h   hash.Hash
	sum [sha256.Size]byte
}

// init sets the key, which must not be empty; it keeps a copy.
func (k *macKey) init(key []byte) {
	key = bytes.Clone(key)
	k.macs.New = func() any { return &macState{h: hmac.New(sha256.New, key)} }
}

// sum sets out to the MAC of msg.
func (k *macKey) sum(out *[sha256.Size]byte, msg []byte) {
	m := k.macs.Get().(*macState)
	m.h.Reset()
	m.h.Write(msg)
	m.h.Sum(m.sum[:0])
	*out = m.sum
	k.macs.Put(m)
}

// NewSigner returns a Signer for keys, the signing key first.
func NewSigner(keys [][]byte) (*Signer, error) {
	if len(keys) == 0 {
		return nil, ErrNoKeys
	}
	s := &Signer{keys: make([]signingKey, len(keys))}
	for i, k := range keys {
		if len(k) == 0 {
			return nil, ErrNoKeys
		}
		sum := sha256.Sum256(k)
		b64.Encode(s.keys[i].kid[:], sum[:kidBytes])
		s.keys[i].init(k)
	}
	return s, nil
}

// Verify checks a cookie value and returns the visitor id it carries. The
// id is a subslice of value, valid as long as value is. A forged,
// truncated, oversized or unknown-key value is rejected.
func (s *Signer) Verify(value []byte) (id []byte, ok bool) {
	if len(value) != CookieValueLen || value[VisitorIDLen] != '.' || value[VisitorIDLen+1+kidLen] != '.' {
		return nil, false
	}
	id = value[:VisitorIDLen]
	kid := value[VisitorIDLen+1 : VisitorIDLen+1+kidLen]
	var raw [visitorIDBytes]byte
	if n, err := b64.Decode(raw[:], id); err != nil || n != visitorIDBytes {
		return nil, false
	}
	for i := range s.keys {
		k := &s.keys[i]
		if !bytes.Equal(kid, k.kid[:]) {
			continue
		}
		var want [macLen]byte
		k.mac(want[:0], value[:VisitorIDLen+1+kidLen])
		if hmac.Equal(want[:], value[VisitorIDLen+1+kidLen+1:]) {
			return id, true
		}
		return nil, false
	}
	return nil, false
}

// VerifyCookies returns the visitor id of the first cookie named name in
// h whose value verifies, so that a junk cookie of the same name sent
// before the real one (by a subdomain, a script or an attacker who can
// set cookies for the site) does not cost the visitor its identity. The id
// is valid as long as h is unchanged. It does not allocate.
func (s *Signer) VerifyCookies(h *fasthttp.RequestHeader, name string) (id []byte, ok bool) {
	for k, v := range h.Cookies() {
		if string(k) != name {
			continue
		}
		if id, ok = s.Verify(v); ok {
			return id, true
		}
	}
	return nil, false
}

// mac appends the encoded, truncated MAC of msg to dst.
func (k *signingKey) mac(dst, msg []byte) []byte {
	var sum [sha256.Size]byte
	k.sum(&sum, msg)
	return b64.AppendEncode(dst, sum[:macBytes])
}

// AppendMint appends a new signed cookie value for a fresh random visitor
// id to dst. The id is the value's first VisitorIDLen bytes.
func (s *Signer) AppendMint(dst []byte) []byte {
	var raw [visitorIDBytes]byte
	rand.Read(raw[:]) // never returns an error (crypto/rand, Go 1.24+)
	var id [VisitorIDLen]byte
	b64.Encode(id[:], raw[:])
	return s.appendSign(dst, id[:])
}

// Sign returns the cookie value for an existing visitor id, which must be
// VisitorIDLen characters of base64url. It is for tools and tests that act
// as a known visitor.
func (s *Signer) Sign(id string) (string, error) {
	var raw [visitorIDBytes]byte
	if n, err := b64.Decode(raw[:], []byte(id)); err != nil || n != visitorIDBytes || len(id) != VisitorIDLen {
		return "", errors.New("personalize: a visitor id is 16 bytes in unpadded base64url")
	}
	return string(s.appendSign(nil, []byte(id))), nil
}

func (s *Signer) appendSign(dst, id []byte) []byte {
	start := len(dst)
	k := &s.keys[0]
	dst = append(dst, id...)
	dst = append(dst, '.')
	dst = append(dst, k.kid[:]...)
	msg := dst[start:]
	dst = append(dst, '.')
	// msg aliases dst; mac reads it before appending past it.
	return k.mac(dst, msg)
}
