package personalize

import (
	"math"
	"strings"
	"time"

	"github.com/marquee-proxy/marquee/decide"
	"github.com/marquee-proxy/marquee/decide/stats"
	"github.com/marquee-proxy/marquee/export"
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
	if pg.conversion && !p.headerConverts(pg) {
		p.convert(pg.snap, append([]byte(nil), pg.id...), p.pageConverter(pg), pg.now, 0)
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
		p.expose(pg.snap, pg.id, pg.prof, pg.d, pg.sc.choices, pg.now, p.pageSubject(pg))
	}
}

// headerConverts reports whether the origin's event header on this page
// names a conversion event (conversions.events). The write queue credits
// that conversion, with the header's value, once the event is stored; the
// page, though a conversion path too, must not credit a second one
// without the value. Only conversion pages call it.
func (p *Personalizer) headerConverts(pg *page) bool {
	t := p.ingest.tracker
	if t == nil || t.evHdr == "" {
		return false
	}
	typ, _, _ := strings.Cut(string(pg.rc.OriginHeader(t.evHdr)), ";")
	ev := msync.ParseEventType(strings.TrimSpace(typ))
	return ev != msync.EventInvalid && pg.snap.Engine.IsConversionEvent(ev.String())
}

// expose counts what this page showed, exports it (to subj, nil: not
// exported) and queues the profile changes that follow: cap counts, the
// remembered variant, the exposure time. Nothing is written when nothing
// changed.
func (p *Personalizer) expose(snap *Snapshot, id []byte, prof *profile.Profile, d *decide.Decision, choices []decide.Choice, now time.Time, subj *export.Subject) {
	if (p.recorder != nil || subj != nil) && snap.Engine.GlobalHoldoutShare() > 0 {
		group := globalTreated
		if d.GlobalHoldout {
			group = globalHeldOut
		}
		if p.recorder != nil {
			p.recorder.Expose(GlobalCampaign, group.Name, id)
		}
		if subj != nil {
			p.exporter.Exposure(subj, GlobalCampaign, GlobalCampaign, group.Name)
		}
		choices = append(choices, decide.Choice{Campaign: snap.global, Variant: group})
	}
	attribute := snap.Engine.TracksConversions()
	need := false
	for _, ch := range choices {
		if ch.Campaign != snap.global {
			if p.recorder != nil {
				p.recorder.Expose(ch.Campaign.ID, statsVariant(ch.VariantName()), id)
			}
			if subj != nil {
				p.exporter.Exposure(subj, ch.Campaign.ID, ch.Campaign.Experiment(), statsVariant(ch.VariantName()))
			}
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
	var enrolled []enrollment
	p.queue.update(string(id), func(pr *profile.Profile) error {
		enrolled = enrolled[:0]
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
			next := pr.Exposures[x.campaign]
			if next.Variant != x.variant || next.Enrolled.IsZero() {
				pre := enroll(&next, pr, x.variant, now)
				enrolled = append(enrolled, enrollment{x.campaign, x.variant, pre})
			}
			next.At = now
			pr.Exposures[x.campaign] = next
		}
		return nil
	}, func() {
		if r, ok := p.recorder.(outcomeRecorder); ok {
			for _, e := range enrolled {
				r.Enroll(e.campaign, statsVariant(e.variant), e.pre)
			}
		}
	})
}

// enrollment is a first exposure to be counted once stored.
type enrollment struct {
	campaign, variant string
	pre               stats.Covariate
}

// enroll starts x over as pr's first exposure to variant at now, with the
// 30 days before as its covariate, and returns that covariate. The
// conversion time is kept: it guards against crediting one exposure
// twice, whichever arm it was in.
func enroll(x *profile.Exposure, pr *profile.Profile, variant string, now time.Time) stats.Covariate {
	revenue, orders := pr.PurchasesSince(now.AddDate(0, 0, -30))
	*x = profile.Exposure{Variant: variant, Converted: x.Converted, Enrolled: now, PreOrders: orders, PreRevenue: revenue}
	return stats.Covariate{Orders: float64(orders), Revenue: revenue}
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
	return !ok || x.Variant != ch.VariantName() || x.Enrolled.IsZero() || now.Sub(x.At) > exposureRefresh
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
// typ at time at is a configured conversion event (conversions.events);
// value is its purchase value (0: none), for revenue metrics. Exported
// conversion records name id as the visitor; CreditEvent names the
// event's visitor and customer.
func (p *Personalizer) ConvertEvent(id, typ string, at time.Time, value float64) {
	p.creditEvent(id, conversionOf{visitor: []byte(id)}, typ, at, value)
}

// CreditEvent credits a conversion to the profile ev lands on when ev, an
// event just stored, is a configured conversion event
// (conversions.events), with its value for revenue metrics.
func (p *Personalizer) CreditEvent(ev *msync.Event) {
	p.creditEvent(ev.Target(), conversionOf{visitor: []byte(ev.Visitor), customer: []byte(ev.Customer)}, ev.Type.String(), ev.TS, ev.Value)
}

func (p *Personalizer) creditEvent(id string, who conversionOf, typ string, at time.Time, value float64) {
	snap := p.snap.Load()
	if !snap.Engine.IsConversionEvent(typ) || !msync.ValidID(id) {
		return
	}
	p.convert(snap, []byte(id), who, at, value)
}

// convert credits a conversion to the exposures it follows. Attribution
// and marking happen in one profile update, under the store's lock for
// that id, and are counted and exported (naming who) only once stored:
// two conversions at once (a purchase event and the thank-you page)
// cannot both credit the same exposure.
func (p *Personalizer) convert(snap *Snapshot, id []byte, who conversionOf, now time.Time, value float64) {
	var credited []decide.Attribution
	var outcomes []outcome
	p.queue.update(string(id), func(pr *profile.Profile) error {
		if !pr.Consent.Allows() {
			return msync.ErrNoChange
		}
		credited = snap.Engine.Attribute(pr, now)
		if len(credited) == 0 {
			return msync.ErrNoChange
		}
		outcomes = creditOutcomes(pr, credited, value, outcomes[:0])
		decide.MarkConverted(pr, credited, now)
		return nil
	}, func() {
		p.exportConversions(snap, who, credited, now, value)
		if p.recorder == nil {
			return
		}
		for _, a := range credited {
			p.recorder.Convert(a.Campaign, statsVariant(a.Variant), id)
		}
		if r, ok := p.recorder.(outcomeRecorder); ok {
			for _, o := range outcomes {
				r.Outcome(o.campaign, statsVariant(o.variant), o.out)
			}
		}
	})
}

// outcome is a conversion of an enrolled person, to be counted once stored.
type outcome struct {
	campaign, variant string
	out               stats.Outcome
}

// creditOutcomes adds a conversion worth value to the totals of each
// credited exposure that is enrolled in its arm, appending to dst what the
// statistics need: the value and the person's totals before it. A
// negative or non-finite value counts as none.
func creditOutcomes(pr *profile.Profile, credited []decide.Attribution, value float64, dst []outcome) []outcome {
	if !(value > 0) || math.IsInf(value, 0) {
		value = 0
	}
	for _, a := range credited {
		x, ok := pr.Exposures[a.Campaign]
		if !ok || x.Enrolled.IsZero() || x.Variant != a.Variant {
			continue
		}
		dst = append(dst, outcome{a.Campaign, a.Variant, stats.Outcome{
			Value:        value,
			PriorOrders:  float64(x.Orders),
			PriorRevenue: x.Revenue,
			Pre:          stats.Covariate{Orders: float64(x.PreOrders), Revenue: x.PreRevenue},
		}})
		x.Orders++
		x.Revenue += value
		pr.Exposures[a.Campaign] = x
	}
	return dst
}
