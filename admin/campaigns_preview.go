package admin

import (
	"errors"
	"html"
	"net/http"
	"strings"
	"time"

	"github.com/marquee-proxy/marquee/internal/apierror"
	"github.com/marquee-proxy/marquee/internal/expiring"
	"github.com/marquee-proxy/marquee/personalize"
	"github.com/marquee-proxy/marquee/profile"
	msync "github.com/marquee-proxy/marquee/sync"
)

// Lifetimes and bounds of the campaign editor's previews.
const (
	// editorTokenTTL is how long a page preview link of a draft works; the
	// draft is held as long (personalize.MaxDraftAge at most).
	editorTokenTTL = time.Hour
	// visitorTokenTTL is how long a page preview link naming a visitor
	// works (personalize.MaxVisitorPreviewAge): it shows that visitor's
	// personalised page to whoever holds it.
	visitorTokenTTL = personalize.MaxVisitorPreviewAge
	// offerTTL is how long a rendered offer is served at its URL: long
	// enough for the console to load it, short enough that the URLs of
	// offers rendered for real visitors do not linger.
	offerTTL  = 10 * time.Minute
	maxOffers = 256
	maxURLLen = 2048
)

// offerPath is where a rendered offer is served, with its id appended.
const offerPath = "/preview/offer/"

// offerCSP sandboxes a rendered offer: no script, no form, no navigation
// of the console, no request of its own but images, styles and fonts, and
// framed only by the console.
const offerCSP = "sandbox; default-src 'none'; img-src * data:; style-src 'unsafe-inline' *; font-src *; frame-ancestors 'self'"

// editorPreviewBody is what POST /v1/campaigns/preview takes.
type editorPreviewBody struct {
	// Document is a draft decisions document; nil: the running one.
	Document *string `json:"document"`
	Campaign string  `json:"campaign"`
	Variant  string  `json:"variant"`
	// Visitor is the profile the offer is rendered for; "": a new visitor.
	Visitor string `json:"visitor"`
	// URL is the page's path and query the request rules read; "": "/".
	URL string `json:"url"`
}

// editorPreview is the answer of POST /v1/campaigns/preview.
type editorPreview struct {
	Campaign    string `json:"campaign"`
	Variant     string `json:"variant"`
	Slot        string `json:"slot"`
	HTML        string `json:"html"`
	RenderError string `json:"render_error,omitempty"`
	Eligible    bool   `json:"eligible"`
	Reason      string `json:"reason"`
	OfferURL    string `json:"offer_url"`
	Token       string `json:"token"`
	PageURL     string `json:"page_url,omitempty"`
	Expires     string `json:"expires"`
}

// previewCampaign renders one campaign's offer of a draft (or of the
// running configuration) for a visitor, keeps it at an offer URL the
// console frames, and mints a page preview link that shows the draft's
// campaign on the real page as that visitor, uncounted.
func (a *admin) previewCampaign(w http.ResponseWriter, r *http.Request) error {
	var body editorPreviewBody
	if err := decodeBody(r, &body); err != nil {
		return err
	}
	if body.Campaign == "" {
		return apierror.Errorf(http.StatusBadRequest, apierror.CodeInvalidField, "campaign", "campaign is required")
	}
	page, err := previewPage(body.URL)
	if err != nil {
		return err
	}
	p := a.opts.Personalizer
	snap := p.Snapshot()
	if body.Document != nil {
		if snap, err = snap.WithDecisions("document", []byte(*body.Document)); err != nil {
			return configError(err, "the draft does not compile")
		}
	}
	prof, err := a.previewProfile(body.Visitor)
	if err != nil {
		return err
	}
	now := p.Now()
	o, err := snap.PreviewOffer(prof, []byte(body.Visitor), now, personalize.ExplainRequest{URL: page}, body.Campaign, body.Variant)
	switch {
	case errors.Is(err, personalize.ErrNoCampaign):
		return apierror.Errorf(http.StatusBadRequest, apierror.CodeInvalidField, "campaign", "no campaign %q", body.Campaign)
	case errors.Is(err, personalize.ErrNoVariant):
		return apierror.Errorf(http.StatusBadRequest, apierror.CodeInvalidField, "variant", "campaign %q has no variant %q", body.Campaign, body.Variant)
	case errors.Is(err, personalize.ErrOptedOut):
		return optedOut(body.Visitor)
	case err != nil:
		return err
	}
	expires := now.Add(editorTokenTTL)
	if body.Visitor != "" {
		expires = now.Add(visitorTokenTTL)
	}
	tok := personalize.Preview{Campaign: body.Campaign, Variant: body.Variant, Expires: expires}
	// The draft and the visitor are held on this node under an opaque id:
	// the token goes in the page's address, readable by the shop's own
	// scripts and analytics, so it must not carry a visitor or customer id.
	if body.Document != nil || body.Visitor != "" {
		var draft *personalize.Snapshot
		if body.Document != nil {
			draft = snap
		}
		tok.Held = p.HoldPreview(draft, body.Visitor, expires)
	}
	out := editorPreview{
		Campaign: o.Campaign, Variant: o.Variant, Slot: o.Slot, HTML: string(o.HTML),
		Eligible: o.Eligible, Reason: o.Reason,
		OfferURL: offerPath + a.offers.Put(a.offerDocument(o), now.Add(offerTTL), now),
		Token:    p.Signer().SignPreviewToken(tok),
		Expires:  expires.UTC().Format(time.RFC3339),
	}
	if o.RenderError != nil {
		out.RenderError = o.RenderError.Error()
	}
	if base := strings.TrimSuffix(a.opts.PreviewURL, "/"); base != "" {
		sep := "?"
		if strings.Contains(page, "?") {
			sep = "&"
		}
		out.PageURL = base + page + sep + personalize.PreviewParam + "=" + out.Token
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// previewPage checks the page a preview is for: a path and query on the
// shop, "/" when none is given.
func previewPage(u string) (string, error) {
	if u == "" {
		return "/", nil
	}
	if u[0] != '/' || strings.HasPrefix(u, "//") || len(u) > maxURLLen || strings.ContainsAny(u, "#\r\n\t\x00 ") {
		return "", apierror.Errorf(http.StatusBadRequest, apierror.CodeInvalidField, "url", "want a path and query on the shop, e.g. \"/c/shoes?utm_source=mail\", at most %d bytes", maxURLLen)
	}
	return u, nil
}

// previewProfile returns the stored profile of visitor id, or an empty
// one for a new visitor when id is "".
func (a *admin) previewProfile(id string) (*profile.Profile, error) {
	if id == "" {
		return &profile.Profile{}, nil
	}
	if !msync.ValidID(id) {
		return nil, apierror.Errorf(http.StatusBadRequest, apierror.CodeInvalidID, "visitor", "want a visitor or customer id of 1 to %d characters of letters, digits and -_.:@", msync.MaxIDLen)
	}
	prof, err := a.opts.Store.Get(id)
	if err != nil {
		return nil, err
	}
	if prof == nil {
		return nil, apierror.Errorf(http.StatusNotFound, apierror.CodeNotFound, "visitor", "no profile %q", id)
	}
	if !prof.Consent.Allows() {
		return nil, optedOut(id)
	}
	return prof, nil
}

// optedOut is the refusal to preview as visitor id, whose stored consent
// does not allow personalisation: no page shows them personalised
// content, so no preview shows anyone their personalised page.
func optedOut(id string) error {
	return apierror.Errorf(http.StatusBadRequest, apierror.CodeInvalidField, "visitor", "visitor %q has opted out of personalisation (consent.personalization is false)", id)
}

// offerDocument wraps a rendered offer in a page of its own, its relative
// links resolved against the shop when its address is known.
func (a *admin) offerDocument(o personalize.OfferPreview) []byte {
	var b strings.Builder
	b.WriteString("<!doctype html>\n<html><head><meta charset=\"utf-8\">")
	if base := strings.TrimSuffix(a.opts.PreviewURL, "/"); base != "" {
		b.WriteString(`<base href="` + html.EscapeString(base+"/") + `">`)
	}
	b.WriteString("<title>" + html.EscapeString("Preview of "+o.Campaign) + "</title></head>\n<body>\n")
	b.Write(o.HTML)
	b.WriteString("\n</body></html>\n")
	return []byte(b.String())
}

// serveOffer serves a rendered offer without the admin token, so that the
// console can show it in an iframe: its unguessable id is the credential,
// and it lives offerTTL. It is sandboxed and never cached.
func (a *admin) serveOffer(w http.ResponseWriter, r *http.Request) {
	var doc []byte
	ok := false
	if a.opts.Personalizer != nil {
		doc, ok = a.offers.Get(r.PathValue("id"), a.opts.Personalizer.Now())
	}
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	if !ok {
		apierror.Write(w, apierror.Errorf(http.StatusNotFound, apierror.CodeNotFound, "", "no such offer preview, or it has expired"))
		return
	}
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", offerCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(doc)
	}
}

// newOffers returns the store of rendered offers.
func newOffers() *expiring.Store[[]byte] { return expiring.New[[]byte](maxOffers) }
