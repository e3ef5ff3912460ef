package personalize

import (
	"bytes"
	"crypto/hmac"
	"errors"
	"strconv"
	"time"
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
// The campaign editor's tokens also name a draft configuration held by the
// node that minted them and the visitor whose profile the page is shown
// for:
//
//	<campaign>.<variant>.<expiry>.<draft>.<visitor>.<mac>
//
// draft and visitor in unpadded base64url too, either may be empty, and
// the mac covers all five parts, so that neither can be swapped. The
// number of parts tells the two forms apart: base64url has no dot.
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
	// Draft is the id of a draft configuration (Personalizer.HoldDraft)
	// whose campaign the page shows; empty: the running configuration's.
	Draft string
	// Visitor is the profile id the page is decided for instead of the
	// browser's visitor; empty: the browser's.
	Visitor string
}

// SignPreview returns a preview token for campaign and variant ("" for
// the campaign's default) valid until expires.
func (s *Signer) SignPreview(campaign, variant string, expires time.Time) string {
	return s.SignPreviewToken(Preview{Campaign: campaign, Variant: variant, Expires: expires})
}

// SignPreviewToken returns a token for p: in the original four-part form
// when p names neither a draft nor a visitor, so that such links read as
// they always did.
func (s *Signer) SignPreviewToken(p Preview) string {
	var b []byte
	b = b64.AppendEncode(b, []byte(p.Campaign))
	b = append(b, '.')
	b = b64.AppendEncode(b, []byte(p.Variant))
	b = append(b, '.')
	b = strconv.AppendInt(b, p.Expires.Unix(), 10)
	if p.Draft != "" || p.Visitor != "" {
		b = append(b, '.')
		b = b64.AppendEncode(b, []byte(p.Draft))
		b = append(b, '.')
		b = b64.AppendEncode(b, []byte(p.Visitor))
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
	if len(parts) != 4 && len(parts) != 6 {
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
	if len(parts) == 6 {
		draft, err1 := b64.DecodeString(string(parts[3]))
		visitor, err2 := b64.DecodeString(string(parts[4]))
		if err1 != nil || err2 != nil || (len(draft) == 0 && len(visitor) == 0) {
			return Preview{}, ErrPreview
		}
		p.Draft, p.Visitor = string(draft), string(visitor)
	}
	if !now.Before(p.Expires) {
		return Preview{}, ErrPreview
	}
	return p, nil
}
