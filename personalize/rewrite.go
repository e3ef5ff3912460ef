package personalize

import (
	"time"

	"github.com/valyala/fasthttp"

	"github.com/marquee-proxy/marquee/decide"
	"github.com/marquee-proxy/marquee/inject"
	"github.com/marquee-proxy/marquee/profile"
	"github.com/marquee-proxy/marquee/proxy"
)

// page is one request's way through Rewrite's stages: what each stage
// found, for the stages after it. It lives on Rewrite's stack.
type page struct {
	rc   *proxy.RewriteContext
	snap *Snapshot
	sc   *personalizeScratch

	plan       *inject.Plan // plan
	slotted    bool         // plan: the page has slots
	conversion bool         // plan: the page is a conversion path
	vid        []byte       // identify: the visitor id
	id         []byte       // load profile: the profile id, customer's or vid
	prof       *profile.Profile
	now        time.Time
	preview    previewRequest   // decide
	d          *decide.Decision // decide; nil without slots
	filled     bool             // render: some slot has an offer
}

// Rewrite personalises one page. It runs the stages in the order a request
// meets them,
//
//	plan → identify → load profile → decide → render → splice → record
//
// and any of the first three may end the request with the page as it came.
// The plan comes first because only a page with slots mints a cookie.
func (p *Personalizer) Rewrite(rc *proxy.RewriteContext) error {
	pg := page{rc: rc, snap: p.snap.Load()}
	if !p.planPage(&pg) {
		return nil
	}
	pg.sc = p.scratch.Get().(*personalizeScratch)
	defer p.scratch.Put(pg.sc)
	if !p.identify(&pg) {
		return nil
	}
	if err := p.loadProfile(&pg); err != nil {
		return err
	}
	if !pg.prof.Consent.Allows() {
		return nil
	}
	if pg.slotted {
		p.decide(&pg)
		defer pg.sc.context.release()
		defer pg.d.Release()
		p.render(&pg)
		p.splice(&pg)
	}
	p.visit(&pg)
	p.record(&pg)
	return nil
}

// touchEvery is how often, at most, a visitor's page views that say
// nothing else are written to keep their session going: well within
// profile.SessionGap, so a session is not cut short, and rare enough that
// browsing costs a write every few minutes, not one per page.
const touchEvery = 5 * time.Minute

// visit records a page view that starts a session, for visit.landing, or
// that keeps one going after touchEvery, for visit.new and visit.count,
// when some expression reads visit.*. Tracked pages record their views
// themselves (record), their path included.
func (p *Personalizer) visit(pg *page) {
	t := p.ingest.tracker
	if t == nil || !pg.snap.Engine.ReadsVisit() || pg.rc.RequestHeader().IsHead() {
		return
	}
	if last := pg.prof.LastSeen; !last.IsZero() && pg.now.Sub(last) < touchEvery {
		return
	}
	t.Visit(pg.vid, pg.sc.cust, pg.rc.URI().Path())
}

// planPage finds the page's compiled plan and whether it is a conversion
// page. It reports false, the page passing through untouched, for markup
// too broken to be sure of, for a page that is neither (only observed, for
// a visitor marquee already knows), for crawlers and for visitors who
// opted out.
func (p *Personalizer) planPage(pg *page) bool {
	rc, snap := pg.rc, pg.snap
	plan, err := p.findPlan(rc, snap)
	if err != nil {
		p.planErrors.Inc()
		return false
	}
	pg.plan = plan
	pg.slotted = plan.NumSlots() > 0
	pg.conversion = snap.Engine.IsConversionPath(rc.URI().Path())
	if !pg.slotted && !pg.conversion {
		p.observeUnslotted(snap, rc)
		return false
	}
	rc.Slotted = pg.slotted
	if snap.bots.isBot(rc.RequestHeader().UserAgent()) {
		// Crawlers see the shop's own page, are never assigned, counted or
		// given a cookie, so search engines see one stable page.
		if pg.slotted {
			p.bots.Inc()
		}
		return false
	}
	return !p.ingest.consent.optedOut(rc)
}

// cachedPlan is what a page in the edge cache keeps with it: its plan, and
// the configuration it was compiled under, for a reload changes slot rules.
type cachedPlan struct {
	plan    *inject.Plan
	version uint64
}

// findPlan returns the page's plan: the one kept with its edge cache entry
// when compiled under this configuration, which skips the plan cache's
// look-up and its byte-for-byte check of the page; otherwise the plan
// cache's, kept with the entry for the next request.
func (p *Personalizer) findPlan(rc *proxy.RewriteContext, snap *Snapshot) (*inject.Plan, error) {
	if cp, ok := rc.CacheValue().(*cachedPlan); ok && cp.version == snap.Version {
		return cp.plan, nil
	}
	plan, err := snap.Compiler.PlanHint(rc.URI().Path(), rc.Body(), b2s(rc.ContentType()))
	if err == nil && rc.Cached() {
		rc.SetCacheValue(&cachedPlan{plan: plan, version: snap.Version}, plan.Source())
	}
	return plan, err
}

// identify finds the visitor id in the signed cookie, or mints one for a
// page with slots when consent allows. It reports false when the request
// has no visitor to personalise for: a conversion by a visitor marquee
// never saw, or strict consent not given.
func (p *Personalizer) identify(pg *page) bool {
	id, ok := p.signer.VerifyCookies(pg.rc.RequestHeader(), p.cookie)
	if !ok {
		if !pg.slotted || !p.ingest.consent.mayMint(pg.rc) {
			return false
		}
		sc := pg.sc
		sc.cookie = p.signer.AppendMint(sc.cookie[:0])
		id = sc.cookie[:VisitorIDLen]
		p.setCookie(pg.rc, sc.cookie)
		p.minted.Inc()
	}
	pg.vid = id
	return true
}

// loadProfile resolves the profile the request reads, the customer's when
// logged in, after waiting for its pending writes, and loads it; a visitor
// without one reads the empty profile.
func (p *Personalizer) loadProfile(pg *page) error {
	pg.id, pg.sc.cust = p.resolve(pg.rc, pg.vid, pg.sc.cust)
	prof, err := p.store.GetBytes(pg.id)
	if err != nil {
		return err
	}
	if prof == nil {
		prof = emptyProfile
	}
	pg.prof = prof
	pg.now = p.now()
	return nil
}

// decide chooses a campaign per slot, or the previewed one for its slot.
// A preview token may also name a draft configuration to decide with and
// a visitor to decide for (see previewRequest). It leaves the choices in
// sc.choices and, per slot, the index of its choice in sc.spans (-1:
// none), for render; the caller releases pg.d.
func (p *Personalizer) decide(pg *page) {
	sc := pg.sc
	snap, prof, id := pg.snap, pg.prof, pg.id
	if p.preview(pg) {
		snap, prof, id = pg.preview.snap, pg.preview.prof, pg.preview.id
	}
	forced := pg.preview.slot
	pg.d = snap.Engine.Acquire(prof, id, pg.now)
	sc.context.forPage(snap.context, pg.rc)
	pg.d.SetContext(&sc.context)
	sc.spans, sc.choices = sc.spans[:0], sc.choices[:0]
	for i := range pg.plan.NumSlots() {
		name := pg.plan.Slot(i).Name
		var ch decide.Choice
		var ok bool
		if forced != "" && name == forced {
			ch, ok = pg.d.Force(pg.preview.Campaign, pg.preview.Variant)
			if ok {
				forced = ""
			}
		} else {
			ch, ok = pg.d.Choose(name)
		}
		if !ok {
			sc.spans = append(sc.spans, [2]int{-1, -1})
			continue
		}
		sc.spans = append(sc.spans, [2]int{len(sc.choices), -1})
		sc.choices = append(sc.choices, ch)
	}
}

// render renders each slot's chosen offer into sc.buf and turns sc.spans
// into each offer's bytes in it; a slot whose offer failed to render, or
// whose visitor is held out, keeps its fallback (-1).
func (p *Personalizer) render(pg *page) {
	sc := pg.sc
	sc.buf = sc.buf[:0]
	for i, sp := range sc.spans {
		if sp[0] < 0 {
			continue
		}
		ch := sc.choices[sp[0]]
		start := len(sc.buf)
		var err error
		sc.buf, err = pg.d.AppendOffer(sc.buf, ch)
		if err != nil {
			p.renderFailed(ch.Campaign.ID, pg.plan.Slot(i).Name, err)
		}
		if err != nil || ch.Holdout() {
			sc.spans[i] = [2]int{-1, -1}
			continue
		}
		sc.spans[i] = [2]int{start, len(sc.buf)}
		pg.filled = true
	}
}

// renderFailed counts a failed offer render and logs it, at most once per
// campaign per renderLogEvery, with the number of failures not logged since
// the last line.
func (p *Personalizer) renderFailed(campaign, slot string, err error) {
	p.renderErrors.Inc()
	if ok, suppressed := p.renderLog.allow(campaign, p.now()); ok {
		p.log.Warn("offer failed to render; slot keeps its fallback", "campaign", campaign, "slot", slot, "err", err, "suppressed", suppressed)
	}
}

// splice writes the page with the rendered offers in their slots, when
// any slot has one; the others keep the page's own content.
func (p *Personalizer) splice(pg *page) {
	if !pg.filled {
		return
	}
	sc := pg.sc
	// Offers are cut from buf only now that it has stopped growing.
	sc.offers = sc.offers[:0]
	for _, sp := range sc.spans {
		if sp[0] < 0 {
			sc.offers = append(sc.offers, nil)
			continue
		}
		sc.offers = append(sc.offers, sc.buf[sp[0]:sp[1]])
		p.filled.Inc()
	}
	// Splice may write the page already gzip-encoded for a gzip client.
	pg.rc.Splice(pg.plan, sc.offers)
}

// setCookie sets the visitor cookie holding value on the response.
func (p *Personalizer) setCookie(rc *proxy.RewriteContext, value []byte) {
	c := fasthttp.AcquireCookie()
	defer fasthttp.ReleaseCookie(c)
	p.fillCookie(c, value, rc.IsTLS())
	rc.SetCookie(c)
}
