package personalize

import (
	"bytes"
	"crypto/hmac"
	"errors"
	"strconv"
	"time"

	"github.com/marquee-proxy/marquee/internal/expiring"
)

// Preview links let QA see a chosen campaign and variant on the real page
// without being counted. A token is
//
//	<campaign>.<variant>.<expiry>.<mac>
//
// campaign and variant in unpadded base64url, expiry in Unix seconds, and
// mac an HMAC-SHA256 of "preview:" and the first three parts under the
// cookie-signing key, truncated to 16 bytes. The "preview:" prefix keeps a
// token's MAC from ever standing in for a cookie's.
//
// The campaign editor's tokens also name a preview held by the node that
// minted them (Personalizer.HoldPreview):
//
//	<campaign>.<variant>.<expiry>.<held>.<mac>
//
// held is the held preview's opaque id, itself unpadded base64url, and
// the mac covers all four parts, so that it cannot be swapped. What the
// held preview names (a draft, a visitor) stays on the node: a token sits
// in the page's address, where the shop's own scripts and analytics can
// read it, so it must not carry a visitor or customer id. The number of
// parts tells the two forms apart: base64url has no dot.
const (
	// PreviewParam is the query parameter that carries a preview token.
	PreviewParam = "mq_preview"
	// PreviewHeader is the request header that carries a preview token.
	PreviewHeader = "X-Marquee-Preview"

	maxPreviewToken = 1024
)

// ErrPreview is returned for a preview token that is malformed, forged or
// expired.
var ErrPreview = errors.New("personalize: invalid or expired preview token")

// Preview is a verified preview request.
type Preview struct {
	Campaign string
	Variant  string
	Expires  time.Time
	// Held is the id of a preview held by the node that minted the token
	// (Personalizer.HoldPreview): the draft the page is decided with and
	// the visitor it is decided for. Empty: the running configuration's
	// campaign, for the browser's visitor.
	Held string
}

// SignPreview returns a preview token for campaign and variant ("" for
// the campaign's default) valid until expires.
func (s *Signer) SignPreview(campaign, variant string, expires time.Time) string {
	return s.SignPreviewToken(Preview{Campaign: campaign, Variant: variant, Expires: expires})
}

// SignPreviewToken returns a token for p: in the original four-part form
// when p names no held preview, so that such links read as they always
// did.
func (s *Signer) SignPreviewToken(p Preview) string {
	var b []byte
	b = b64.AppendEncode(b, []byte(p.Campaign))
	b = append(b, '.')
	b = b64.AppendEncode(b, []byte(p.Variant))
	b = append(b, '.')
	b = strconv.AppendInt(b, p.Expires.Unix(), 10)
	if p.Held != "" {
		// Held ids are base64url already (expiring.IDLen), so they go in
		// as they are; one that is not is refused by VerifyPreview.
		b = append(b, '.')
		b = append(b, p.Held...)
	}
	msg := append([]byte("preview:"), b...)
	b = append(b, '.')
	return string(s.keys[0].mac(b, msg))
}

// VerifyPreview checks a preview token at time now. It tries every key, so
// tokens survive key rotation like cookies do.
func (s *Signer) VerifyPreview(token []byte, now time.Time) (Preview, error) {
	if len(token) == 0 || len(token) > maxPreviewToken {
		return Preview{}, ErrPreview
	}
	parts := bytes.Split(token, []byte("."))
	if len(parts) != 4 && len(parts) != 5 {
		return Preview{}, ErrPreview
	}
	mac := parts[len(parts)-1]
	body := token[:len(token)-len(mac)-1]
	msg := append([]byte("preview:"), body...)
	valid := false
	for i := range s.keys {
		var want [macLen]byte
		if hmac.Equal(s.keys[i].mac(want[:0], msg), mac) {
			valid = true
			break
		}
	}
	if !valid {
		return Preview{}, ErrPreview
	}
	campaign, err1 := b64.DecodeString(string(parts[0]))
	variant, err2 := b64.DecodeString(string(parts[1]))
	exp, err3 := strconv.ParseInt(string(parts[2]), 10, 64)
	if err1 != nil || err2 != nil || err3 != nil || len(campaign) == 0 {
		return Preview{}, ErrPreview
	}
	p := Preview{Campaign: string(campaign), Variant: string(variant), Expires: time.Unix(exp, 0)}
	if len(parts) == 5 {
		if !validHeldID(parts[3]) {
			return Preview{}, ErrPreview
		}
		p.Held = string(parts[3])
	}
	if !now.Before(p.Expires) {
		return Preview{}, ErrPreview
	}
	return p, nil
}

// validHeldID reports whether id has the shape of a held preview's id: an
// expiring.IDLen-character run of the base64url alphabet. Anything else is
// refused even under a valid mac, so that a token verifies only in the
// form SignPreviewToken writes it.
func validHeldID(id []byte) bool {
	if len(id) != expiring.IDLen {
		return false
	}
	for _, c := range id {
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
