package personalize

import (
	"bytes"
	"time"

	"github.com/marquee-proxy/marquee/internal/httpfield"
	"github.com/marquee-proxy/marquee/profile"
	"github.com/marquee-proxy/marquee/proxy"
)

// Bounds of the previews held for page previews.
const (
	// MaxDraftAge is the longest a preview naming no visitor is held
	// (HoldPreview).
	MaxDraftAge = time.Hour
	// MaxVisitorPreviewAge is the longest a preview naming a visitor is
	// held: the link shows that visitor's personalised page to whoever
	// opens it, so it is kept short.
	MaxVisitorPreviewAge = 15 * time.Minute
	// maxHeld is how many previews a node holds at most: each may hold a
	// whole compiled configuration.
	maxHeld = 32
)

// heldPreview is what a preview token's held id stands for on the node
// that minted it.
type heldPreview struct {
	draft   *Snapshot // decides the page; nil: the running configuration
	visitor string    // the profile the page is decided for; "": the browser's
}

// HoldPreview keeps, for the page previews of tokens naming the id it
// returns (Preview.Held), a draft compiled by Snapshot.WithDecisions and
// never swapped in (nil: the running configuration) and the profile id of
// the visitor the page is shown as ("": the browser's own). It is held
// until expires, and at most MaxDraftAge, or MaxVisitorPreviewAge when it
// names a visitor, whichever comes first. Previews are held in this
// node's memory only, at most a few dozen, the oldest dropped first; a
// token whose preview is gone shows the running configuration's campaign
// of that id, if any, for the browser's own visitor.
//
// The visitor stays here, never in the token: a token travels in the
// page's address, where the shop's scripts and analytics can read it.
func (p *Personalizer) HoldPreview(draft *Snapshot, visitor string, expires time.Time) string {
	now := p.now()
	maxAge := MaxDraftAge
	if visitor != "" {
		maxAge = MaxVisitorPreviewAge
	}
	if limit := now.Add(maxAge); expires.After(limit) {
		expires = limit
	}
	return p.held.Put(heldPreview{draft: draft, visitor: visitor}, expires, now)
}

// previewRequest is a verified preview: what the page is decided with and
// for, and the slot its campaign fills.
type previewRequest struct {
	Preview
	slot string           // the slot the campaign fills; "" when there is no such campaign
	snap *Snapshot        // decides the page: the held draft's, or the running one
	prof *profile.Profile // decided for: the held visitor's, or the browser's
	id   []byte
}

// preview reads a preview token from the query or a header and, when it
// is valid, sets pg.preview, keeps the token out of Referer headers and
// lets the admin console frame the page. A page with a valid token is
// never counted, whatever it shows.
func (p *Personalizer) preview(pg *page) bool {
	rc := pg.rc
	tok := rc.URI().QueryArgs().Peek(PreviewParam)
	if len(tok) == 0 {
		tok = rc.RequestHeader().Peek(PreviewHeader)
	}
	if len(tok) == 0 {
		return false
	}
	pv, err := p.signer.VerifyPreview(tok, pg.now)
	if err != nil {
		return false
	}
	pr := previewRequest{Preview: pv, snap: pg.snap, prof: pg.prof, id: pg.id}
	if pv.Held != "" {
		if h, ok := p.held.Get(pv.Held, pg.now); ok {
			if h.draft != nil {
				pr.snap = h.draft
			}
			if h.visitor != "" {
				p.previewAs(&pr, h.visitor)
			}
		}
	}
	if c := pr.snap.campaign(pv.Campaign); c != nil {
		pr.slot = c.Slot
	}
	pg.preview = pr
	// The token is in the page's address: its links and subresources must
	// not carry it to the origin's logs or other sites in a Referer.
	rc.RemoveHeader(strReferrerPolicy)
	rc.AddHeader(strReferrerPolicy, strNoReferrer)
	p.allowFraming(rc)
	return true
}

// previewAs decides pr for visitor's stored profile, unless that visitor
// has opted out of personalisation: the admin API refuses to mint such a
// preview, but consent may be withdrawn within the link's life, so it is
// checked again on every request. An opted-out visitor's page is then
// decided for the browser's own visitor, as on a node that does not hold
// the preview. A visitor whose profile is gone (erased) reads the empty
// profile.
func (p *Personalizer) previewAs(pr *previewRequest, visitor string) {
	prof, err := p.store.Get(visitor)
	if err != nil || prof == nil {
		prof = emptyProfile
	}
	if !prof.Consent.Allows() {
		return
	}
	pr.prof, pr.id = prof, []byte(visitor)
}

var (
	strXFrameOptions  = []byte("X-Frame-Options")
	strCSP            = []byte("Content-Security-Policy")
	strReferrerPolicy = []byte("Referrer-Policy")
	strNoReferrer     = []byte("no-referrer")
)

// allowFraming lets the admin console show a preview page in an iframe
// when the origin forbids framing: X-Frame-Options is removed, and the
// frame-ancestors directives of the origin's policies give way to one
// naming the console (RFC 7034; CSP Level 3 §6.4.2). The rest of the
// origin's policies stands.
func (p *Personalizer) allowFraming(rc *proxy.RewriteContext) {
	h := rc.OriginResponseHeader()
	if p.frameAncestors == nil || h == nil {
		return
	}
	forbids := len(h.PeekBytes(strXFrameOptions)) > 0
	if forbids {
		rc.RemoveHeader(strXFrameOptions)
	}
	policies := h.PeekAll(string(strCSP))
	framed := false
	for _, v := range policies {
		if _, had := withoutFrameAncestors(nil, v); had {
			framed = true
		}
	}
	if framed {
		rc.RemoveHeader(strCSP)
		for _, v := range policies {
			if kept, _ := withoutFrameAncestors(nil, v); len(kept) > 0 {
				rc.AddHeader(strCSP, kept)
			}
		}
	}
	if forbids || framed {
		rc.AddHeader(strCSP, p.frameAncestors)
	}
}

// withoutFrameAncestors appends to dst the Content-Security-Policy field
// value v without its frame-ancestors directives, and reports whether it
// had one. v may hold several policies separated by commas (CSP Level 3
// §3.1); a policy left empty is dropped.
func withoutFrameAncestors(dst, v []byte) ([]byte, bool) {
	had := false
	first := true
	for policy := range bytes.SplitSeq(v, []byte(",")) {
		start := len(dst)
		if !first {
			dst = append(dst, ", "...)
		}
		n := 0
		for d := range bytes.SplitSeq(policy, []byte(";")) {
			d = httpfield.TrimOWS(d)
			if len(d) == 0 {
				continue
			}
			name := d
			if i := bytes.IndexAny(d, " \t"); i >= 0 {
				name = d[:i]
			}
			if httpfield.EqualFoldASCII(name, "frame-ancestors") {
				had = true
				continue
			}
			if n > 0 {
				dst = append(dst, "; "...)
			}
			dst = append(dst, d...)
			n++
		}
		if n == 0 {
			dst = dst[:start]
			continue
		}
		first = false
	}
	return dst, had
}
