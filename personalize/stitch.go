package personalize

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/marquee-proxy/marquee/proxy"

	"github.com/valyala/fasthttp"

	msync "github.com/marquee-proxy/marquee/sync"
)

// CustomerFormat is how a login cookie is signed.
type CustomerFormat uint8

// Login cookie formats.
const (
	// CustomerHMAC is "ID.MAC": MAC the unpadded base64url HMAC-SHA256 of
	// ID under one of the keys.
	CustomerHMAC CustomerFormat = iota
	// CustomerJWT is a JWT signed HS256 under one of the keys, the customer
	// id in "sub"; "exp" and "nbf" are enforced when present.
	CustomerJWT
)

// String returns the format's config name.
func (f CustomerFormat) String() string {
	switch f {
	case CustomerHMAC:
		return "hmac"
	case CustomerJWT:
		return "jwt"
	}
	return "invalid"
}

// CustomerOptions names where a logged-in visitor's customer id comes
// from. An unsigned value is never trusted: anyone could type another
// customer's id into a cookie and see their offers.
type CustomerOptions struct {
	// Header is an origin response header carrying the customer id of an
	// authenticated session; the proxy removes it from the response.
	Header string
	// Cookie is the site's login cookie, trusted only when its signature
	// verifies under one of Keys.
	Cookie string
	// Format is how Cookie is signed.
	Format CustomerFormat
	// Keys verify Cookie; any may match, so keys rotate.
	Keys [][]byte
	// FoldCase lower-cases customer ids.
	FoldCase bool
	// Now is the clock for JWT exp and nbf. Nil means time.Now.
	Now func() time.Time
}

// CustomerResolver finds the customer id of a request. It is safe for
// concurrent use.
type CustomerResolver struct {
	opts CustomerOptions
}

// NewCustomerResolver checks opts and returns a resolver.
func NewCustomerResolver(opts CustomerOptions) (*CustomerResolver, error) {
	if opts.Header == "" && opts.Cookie == "" {
		return nil, errors.New("personalize: customer id needs a header or a cookie")
	}
	if opts.Cookie != "" && len(opts.Keys) == 0 {
		return nil, errors.New("personalize: a customer cookie needs keys to verify it")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &CustomerResolver{opts: opts}, nil
}

// Resolve returns the request's customer id, appended to dst[:0] (case
// folded when configured), or nil when there is none or its signature
// fails. It looks at the login cookie first, then the origin's header.
func (c *CustomerResolver) Resolve(rc *proxy.RewriteContext, dst []byte) []byte {
	return c.resolve(rc.RequestHeader(), rc.OriginResponseHeader(), dst)
}

// resolve is Resolve from the request's and the origin response's headers;
// origin may be nil.
func (c *CustomerResolver) resolve(req *fasthttp.RequestHeader, origin *fasthttp.ResponseHeader, dst []byte) []byte {
	var id []byte
	if c.opts.Cookie != "" {
		if v := req.Cookie(c.opts.Cookie); len(v) > 0 {
			id = c.verifyCookie(v)
		}
	}
	if id == nil && c.opts.Header != "" && origin != nil {
		id = bytes.TrimSpace(origin.Peek(c.opts.Header))
	}
	if len(id) == 0 || !msync.ValidID(b2s(id)) {
		return nil
	}
	dst = append(dst[:0], id...)
	if c.opts.FoldCase {
		for i, ch := range dst {
			if ch >= 'A' && ch <= 'Z' {
				dst[i] = ch + 'a' - 'A'
			}
		}
	}
	return dst
}

func (c *CustomerResolver) verifyCookie(v []byte) []byte {
	if c.opts.Format == CustomerJWT {
		sub, ok := verifyJWT(v, c.opts.Keys, c.opts.Now())
		if !ok {
			return nil
		}
		return []byte(sub)
	}
	return verifyHMACValue(v, c.opts.Keys)
}

// SignCustomerHMAC returns the login cookie value "ID.MAC" for id under
// key, as a site would set it.
func SignCustomerHMAC(id string, key []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id))
	return id + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// verifyHMACValue checks an "ID.MAC" value and returns ID, a subslice of v.
func verifyHMACValue(v []byte, keys [][]byte) []byte {
	i := bytes.LastIndexByte(v, '.')
	if i <= 0 {
		return nil
	}
	id, mac := v[:i], v[i+1:]
	var got [sha256.Size + 3]byte
	if len(mac) != base64.RawURLEncoding.EncodedLen(sha256.Size) {
		return nil
	}
	if n, err := base64.RawURLEncoding.Decode(got[:], mac); err != nil || n != sha256.Size {
		return nil
	}
	for _, k := range keys {
		m := hmac.New(sha256.New, k)
		m.Write(id)
		if hmac.Equal(m.Sum(nil), got[:sha256.Size]) {
			return id
		}
	}
	return nil
}

// maxJWT bounds a token's length.
const maxJWT = 4096

// verifyJWT checks a compact JWS signed HS256 with one of keys (RFC 7515,
// RFC 7519): the header must name alg HS256 and nothing else that changes
// how to verify; exp and nbf, when present, must hold at now. It returns
// the "sub" claim.
func verifyJWT(tok []byte, keys [][]byte, now time.Time) (string, bool) {
	if len(tok) > maxJWT {
		return "", false
	}
	parts := bytes.Split(tok, []byte{'.'})
	if len(parts) != 3 {
		return "", false
	}
	sig := make([]byte, base64.RawURLEncoding.DecodedLen(len(parts[2])))
	n, err := base64.RawURLEncoding.Decode(sig, parts[2])
	if err != nil || n != sha256.Size {
		return "", false
	}
	signed := tok[:len(parts[0])+1+len(parts[1])]
	ok := false
	for _, k := range keys {
		m := hmac.New(sha256.New, k)
		m.Write(signed)
		if hmac.Equal(m.Sum(nil), sig[:n]) {
			ok = true
		}
	}
	if !ok {
		return "", false
	}
	var hdr struct {
		Alg  string `json:"alg"`
		Crit []any  `json:"crit"`
	}
	if !decodeJWTPart(parts[0], &hdr) || hdr.Alg != "HS256" || hdr.Crit != nil {
		return "", false
	}
	var claims struct {
		Sub string   `json:"sub"`
		Exp *float64 `json:"exp"`
		Nbf *float64 `json:"nbf"`
	}
	if !decodeJWTPart(parts[1], &claims) || claims.Sub == "" {
		return "", false
	}
	unix := float64(now.Unix())
	if claims.Exp != nil && unix >= *claims.Exp {
		return "", false
	}
	if claims.Nbf != nil && unix < *claims.Nbf {
		return "", false
	}
	return strings.TrimSpace(claims.Sub), true
}

func decodeJWTPart(part []byte, v any) bool {
	raw := make([]byte, base64.RawURLEncoding.DecodedLen(len(part)))
	n, err := base64.RawURLEncoding.Decode(raw, part)
	if err != nil {
		return false
	}
	return json.Unmarshal(raw[:n], v) == nil
}
