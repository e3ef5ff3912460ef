package personalize

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
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
	opts   CustomerOptions
	cookie *CustomerVerifier // nil without opts.Cookie
}

// NewCustomerResolver checks opts and returns a resolver.
func NewCustomerResolver(opts CustomerOptions) (*CustomerResolver, error) {
	if opts.Header == "" && opts.Cookie == "" {
		return nil, errors.New("personalize: customer id needs a header or a cookie")
	}
	if opts.Cookie != "" && len(opts.Keys) == 0 {
		return nil, errors.New("personalize: a customer cookie needs keys to verify it")
	}
	c := &CustomerResolver{opts: opts}
	if opts.Cookie != "" {
		var err error
		if c.cookie, err = NewCustomerVerifier(opts.Format, opts.Keys, opts.Now); err != nil {
			return nil, err
		}
	}
	return c, nil
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
	dst = dst[:0]
	if c.cookie != nil {
		if v := req.Cookie(c.opts.Cookie); len(v) > 0 {
			// A cookie that verifies decides, even when its id is invalid.
			if id, ok := c.cookie.AppendVerify(dst, v); ok {
				return c.checkID(id)
			}
		}
	}
	if c.opts.Header != "" && origin != nil {
		if id := bytes.TrimSpace(origin.Peek(c.opts.Header)); len(id) > 0 {
			return c.checkID(append(dst, id...))
		}
	}
	return nil
}

// checkID returns id, case folded when configured, or nil when it is not
// a valid customer id.
func (c *CustomerResolver) checkID(id []byte) []byte {
	if len(id) == 0 || !msync.ValidID(b2s(id)) {
		return nil
	}
	if c.opts.FoldCase {
		for i, ch := range id {
			if ch >= 'A' && ch <= 'Z' {
				id[i] = ch + 'a' - 'A'
			}
		}
	}
	return id
}

// SignCustomerHMAC returns the login cookie value "ID.MAC" for id under
// key, as a site would set it.
func SignCustomerHMAC(id string, key []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id))
	return id + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}
