package personalize

import (
	"time"

	"github.com/marquee-proxy/marquee/decide"
	"github.com/marquee-proxy/marquee/profile"
	msync "github.com/marquee-proxy/marquee/sync"
)

// record is the last stage: it queues what the page says about its
// visitor for the node's write queue: the observed view (keyed by the
// visitor), then a conversion on a conversion page and, for a page with
// slots, the exposures it showed (keyed by the profile read). Keys of a
// logged-in visitor may land on different workers; the updates commute,
// and the next request waits for both keys. It counts the decision's
// failed conditions and the preview served. A visitor who declined
// consent never reaches it.
func (p *Personalizer) record(pg *page) {
	if t := p.ingest.tracker; t != nil {
		t.Observe(pg.rc, pg.vid, pg.sc.cust)
	}
	if pg.conversion {
		p.convert(pg.snap, append([]byte(nil), pg.id...), pg.now)
	}
	if pg.d == nil {
		return // no slots: nothing was decided
	}
	if pg.d.Errors > 0 {
		p.exprErrors.Add(float64(pg.d.Errors))
	}
	switch {
	case pg.preview.Campaign != "":
		p.previews.Inc()
	case pg.rc.RequestHeader().IsHead():
		// Nobody saw a HEAD response's body.
	default:
		p.expose(pg.snap, pg.id, pg.prof, pg.d, pg.sc.choices, pg.now)
	}
}

// expose counts what this page showed and queues the profile changes that
// follow: cap counts, the remembered variant, the exposure time. Nothing is
// written when nothing changed.
func (p *Personalizer) expose(snap *Snapshot, id []byte, prof *profile.Profile, d *decide.Decision, choices []decide.Choice, now time.Time) {
	if p.recorder != nil && snap.Engine.GlobalHoldoutShare() > 0 {
		group := globalTreated
		if d.GlobalHoldout {
			group = globalHeldOut
		}
		p.recorder.Expose(GlobalCampaign, group.Name, id)
		choices = append(choices, decide.Choice{Campaign: snap.global, Variant: group})
	}
	attribute := snap.Engine.TracksConversions()
	need := false
	for _, ch := range choices {
		if ch.Campaign != snap.global && p.recorder != nil {
			p.recorder.Expose(ch.Campaign.ID, statsVariant(ch.VariantName()), id)
		}
		if needsWrite(prof, ch, now, attribute) {
			need = true
		}
	}
	if !need {
		return
	}
	today := d.Today()
	node := p.node
	// The update runs later on another goroutine: it gets its own copies.
	type exp struct {
		campaign, variant, experiment string
		capped, holdout               bool
	}
	list := make([]exp, 0, len(choices))
	for _, ch := range choices {
		_, capMax := ch.Campaign.CapDays()
		list = append(list, exp{ch.Campaign.ID, ch.VariantName(), ch.Campaign.Experiment(), capMax > 0, ch.Holdout()})
	}
	p.queue.update(string(id), func(pr *profile.Profile) error {
		for _, x := range list {
			if x.capped && !x.holdout {
				pr.Caps = addCap(pr.Caps, x.campaign, today, node)
			}
			if x.experiment != "" {
				if pr.Variants == nil {
					pr.Variants = map[string]string{}
				}
				pr.Variants[x.experiment] = x.variant
			}
			if !attribute {
				continue
			}
			if pr.Exposures == nil {
				pr.Exposures = map[string]profile.Exposure{}
			}
			old := pr.Exposures[x.campaign]
			pr.Exposures[x.campaign] = profile.Exposure{Variant: x.variant, At: now, Converted: old.Converted}
		}
		return nil
	}, nil)
}

// needsWrite reports whether showing ch changes what the profile records:
// a cap count, a variant not yet remembered, or (when conversions are
// attributed) a missing or stale exposure time.
func needsWrite(prof *profile.Profile, ch decide.Choice, now time.Time, attribute bool) bool {
	if _, capMax := ch.Campaign.CapDays(); capMax > 0 && !ch.Holdout() {
		return true
	}
	if exp := ch.Campaign.Experiment(); exp != "" && prof.Variants[exp] != ch.VariantName() {
		return true
	}
	if !attribute {
		return false
	}
	x, ok := prof.Exposures[ch.Campaign.ID]
	return !ok || x.Variant != ch.VariantName() || now.Sub(x.At) > exposureRefresh
}

// addCap counts one impression of campaign today on node.
func addCap(caps map[string][]profile.NodeDayCount, campaign string, today int32, node string) map[string][]profile.NodeDayCount {
	if caps == nil {
		caps = map[string][]profile.NodeDayCount{}
	}
	list := caps[campaign]
	for i := range list {
		if list[i].Day == today && list[i].Node == node {
			list[i].Count++
			return caps
		}
	}
	// Keep the list short: buckets older than a year count for no cap.
	kept := list[:0]
	for _, b := range list {
		if b.Day > today-366 {
			kept = append(kept, b)
		}
	}
	caps[campaign] = append(kept, profile.NodeDayCount{Day: today, Node: node, Count: 1})
	return caps
}

// ConvertEvent credits a conversion to the profile id when an event of type
// typ at time at is a configured conversion event (conversions.events).
func (p *Personalizer) ConvertEvent(id, typ string, at time.Time) {
	snap := p.snap.Load()
	if !snap.Engine.IsConversionEvent(typ) || !msync.ValidID(id) {
		return
	}
	p.convert(snap, []byte(id), at)
}

// convert credits a conversion to the exposures it follows. Attribution
// and marking happen in one profile update, under the store's lock for
// that id, and are counted only once stored: two conversions at once (a
// purchase event and the thank-you page) cannot both credit the same
// exposure.
func (p *Personalizer) convert(snap *Snapshot, id []byte, now time.Time) {
	var credited []decide.Attribution
	p.queue.update(string(id), func(pr *profile.Profile) error {
		if !pr.Consent.Allows() {
			return msync.ErrNoChange
		}
		credited = snap.Engine.Attribute(pr, now)
		if len(credited) == 0 {
			return msync.ErrNoChange
		}
		decide.MarkConverted(pr, credited, now)
		return nil
	}, func() {
		if p.recorder == nil {
			return
		}
		for _, a := range credited {
			p.recorder.Convert(a.Campaign, statsVariant(a.Variant), id)
		}
	})
}
