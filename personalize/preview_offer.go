package personalize

import (
	"errors"
	"time"

	"github.com/marquee-proxy/marquee/profile"
)

// Errors of PreviewOffer.
var (
	// ErrNoCampaign: the configuration has no campaign of that id.
	ErrNoCampaign = errors.New("personalize: no such campaign")
	// ErrNoVariant: the campaign has no variant of that name (or, without
	// an experiment, a variant was named).
	ErrNoVariant = errors.New("personalize: no such variant")
	// ErrOptedOut: the visitor's stored consent does not allow
	// personalisation, so no offer is rendered for them, as no page would.
	ErrOptedOut = errors.New("personalize: the visitor has opted out of personalisation")
)

// OfferPreview is one campaign's offer rendered for the campaign editor,
// with whether a page would show it.
type OfferPreview struct {
	Campaign, Variant, Slot string
	// HTML is the offer as a page would splice it in; empty for a holdout
	// variant and when rendering failed.
	HTML []byte
	// Eligible reports whether the campaign fills its slot for this
	// visitor on this request, as a page with every slot decides it.
	Eligible bool
	// Reason says why, in the words of decide.Explanation ("chosen", or
	// why not).
	Reason string
	// RenderError is why the template failed for this visitor (an
	// execution error, a size or time limit); nil when it rendered.
	RenderError error
}

// PreviewOffer renders campaign's offer in variant ("" for the campaign's
// default) for profile prof, of profile id id, on the request r at now,
// through the decision and render code a page uses and within its limits,
// and explains whether a page would show it. prof must not be nil: a new
// visitor's is empty. A profile whose consent does not allow
// personalisation gets ErrOptedOut. It is for the admin API, not the
// request path: it allocates.
func (s *Snapshot) PreviewOffer(prof *profile.Profile, id []byte, now time.Time, r ExplainRequest, campaign, variant string) (OfferPreview, error) {
	if !prof.Consent.Allows() {
		return OfferPreview{}, ErrOptedOut
	}
	if s.campaign(campaign) == nil {
		return OfferPreview{}, ErrNoCampaign
	}
	ctx := s.ContextOf(r)
	d := s.Engine.Acquire(prof, id, now)
	defer d.Release()
	d.SetContext(ctx)
	ch, ok := d.Force(campaign, variant)
	if !ok {
		return OfferPreview{}, ErrNoVariant
	}
	out := OfferPreview{Campaign: campaign, Variant: ch.VariantName(), Slot: ch.Campaign.Slot}
	out.HTML, out.RenderError = d.AppendOffer(nil, ch)
	for _, c := range s.Engine.ExplainIn(prof, id, now, ctx).Campaigns {
		if c.ID == campaign {
			out.Eligible, out.Reason = c.Chosen, c.Reason
		}
	}
	return out, nil
}
