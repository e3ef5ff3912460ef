package personalize

import (
	"bytes"

	"github.com/marquee-proxy/marquee/proxy"

	"github.com/valyala/fasthttp"
)

// ConsentPolicy says when a visitor is neither personalised nor tracked,
// beyond a profile whose consent.personalization is false. The zero value
// honours Sec-GPC and nothing else.
type ConsentPolicy struct {
	// OptOutCookie: a request carrying this cookie, with any value but "0"
	// or "false", opts out. Empty: no such cookie.
	OptOutCookie string
	// IgnoreGPC disregards the Sec-GPC: 1 header (Global Privacy Control),
	// which otherwise opts out.
	IgnoreGPC bool
	// Strict mints no visitor cookie, and so neither personalises nor
	// tracks, until ConsentCookie is present.
	Strict bool
	// ConsentCookie is the cookie the site sets once the visitor agreed.
	ConsentCookie string
}

var strSecGPC = []byte("Sec-GPC")

// optedOut reports whether the request itself refuses personalisation and
// tracking.
func (c *ConsentPolicy) optedOut(rc *proxy.RewriteContext) bool {
	return c.optedOutHeader(rc.RequestHeader())
}

func (c *ConsentPolicy) optedOutHeader(h *fasthttp.RequestHeader) bool {
	if !c.IgnoreGPC && bytes.Equal(bytes.TrimSpace(h.PeekBytes(strSecGPC)), []byte("1")) {
		return true
	}
	if c.OptOutCookie != "" {
		if v := h.Cookie(c.OptOutCookie); len(v) > 0 && string(v) != "0" && string(v) != "false" {
			return true
		}
	}
	return false
}

// mayMint reports whether a visitor cookie may be set on this request.
func (c *ConsentPolicy) mayMint(rc *proxy.RewriteContext) bool {
	return c.mayMintHeader(rc.RequestHeader())
}

func (c *ConsentPolicy) mayMintHeader(h *fasthttp.RequestHeader) bool {
	return !c.Strict || len(h.Cookie(c.ConsentCookie)) > 0
}
