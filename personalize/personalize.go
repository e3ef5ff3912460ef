package personalize

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/marquee-proxy/marquee/profile"
	"github.com/marquee-proxy/marquee/proxy"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"

	"github.com/marquee-proxy/marquee/decide"
	msync "github.com/marquee-proxy/marquee/sync"
)

// Options configures a Personalizer.
type Options struct {
	// Snapshot is the compiled configuration to start with. Required.
	Snapshot *Snapshot
	// Store holds the profiles. Required.
	Store *msync.Store
	// Keys are the cookie-signing keys, the signing one first. Required.
	Keys [][]byte
	// CookieName is the visitor cookie's name. Zero means "mq_vid".
	CookieName string
	// CookieMaxAge is the visitor cookie's lifetime. Zero means 365 days.
	CookieMaxAge time.Duration
	// SecureCookie marks the cookie Secure on every response, not only on
	// requests that came over TLS.
	SecureCookie bool
	// Now is the clock. Nil means time.Now.
	Now func() time.Time
	// Logger receives one line per failed render. Nil discards.
	Logger *slog.Logger
	// Registry receives the personaliser's metrics. Nil: not registered.
	Registry prometheus.Registerer
	// Recorder counts exposures and conversions. Nil: not counted.
	Recorder Recorder
	// Node names this node in the cap counts it writes. Default "local".
	Node string
	// Tracker records observed page views. Nil: nothing is tracked.
	Tracker *Tracker
	// Customer resolves logged-in visitors to their customer profile.
	// Nil: visitors stay anonymous.
	Customer *CustomerResolver
	// Consent says when visitors are neither personalised nor tracked.
	Consent ConsentPolicy
}

// Recorder counts exposures and conversions per campaign and variant, for
// statistics. It is called on the request path, concurrently: it must not
// block and must not retain visitor.
type Recorder interface {
	Expose(campaign, variant string, visitor []byte)
	Convert(campaign, variant string, visitor []byte)
}

// GlobalCampaign is the name under which the global holdout experiment is
// counted: variant "holdout" for visitors who never see a campaign,
// "personalized" for everyone else.
const GlobalCampaign = "_global"

// The two arms of the global holdout experiment.
var (
	globalTreated = &decide.Variant{Name: "personalized"}
	globalHeldOut = &decide.Variant{Name: decide.HoldoutVariant}
)

// exposureRefresh is how stale a recorded exposure may get before a page
// view rewrites it: attribution windows are days long, so refreshing every
// page view would only multiply profile writes.
const exposureRefresh = 10 * time.Minute

// Personalizer is the rewrite stage that makes marquee what it is: it
// recognises the visitor from the signed cookie (minting one when absent or
// invalid), finds the page's compiled plan, looks up the visitor's profile,
// decides an offer per slot and splices the offers in. Exposures, caps and
// conversions are written to the profile after the response, off the
// request path. It is safe for concurrent use.
type Personalizer struct {
	snap     atomic.Pointer[Snapshot]
	swapMu   sync.Mutex // orders Swaps, so versions increase
	store    *msync.Store
	signer   *Signer
	cookie   string
	maxAge   int
	secure   bool
	now      func() time.Time
	log      *slog.Logger
	recorder Recorder
	queue    *writeQueue // the node's, shared with the Tracker
	node     string
	ingest   ingest
	scratch  sync.Pool // *personalizeScratch

	minted, filled, planErrors, renderErrors, exprErrors, bots, previews prometheus.Counter
}

// personalizeScratch is the per-request working memory of Rewrite.
type personalizeScratch struct {
	cookie  []byte
	offers  [][]byte
	spans   [][2]int
	buf     []byte
	choices []decide.Choice
	cust    []byte
}

// emptyProfile stands for a visitor with no stored profile.
var emptyProfile = &profile.Profile{}

// New returns the personalising rewrite stage.
func New(opts Options) (*Personalizer, error) {
	if opts.Snapshot == nil || opts.Store == nil {
		return nil, errors.New("personalize: personalizer needs a snapshot and a store")
	}
	signer, err := NewSigner(opts.Keys)
	if err != nil {
		return nil, err
	}
	p := &Personalizer{
		store:    opts.Store,
		signer:   signer,
		cookie:   opts.CookieName,
		maxAge:   int(opts.CookieMaxAge / time.Second),
		secure:   opts.SecureCookie,
		now:      opts.Now,
		log:      opts.Logger,
		recorder: opts.Recorder,
		node:     opts.Node,
	}
	if p.cookie == "" {
		p.cookie = "mq_vid"
	}
	if p.maxAge <= 0 {
		p.maxAge = 365 * 24 * 3600
	}
	if p.now == nil {
		p.now = time.Now
	}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	if p.node == "" {
		p.node = "local"
	}
	if opts.Tracker != nil {
		p.queue = opts.Tracker.queue // one write queue per node
	} else {
		p.queue = newWriteQueue(opts.Store, p.log, defaultQueueWorkers, personalizerQueueLen, 0)
	}
	p.ingest = ingest{tracker: opts.Tracker, customer: opts.Customer, consent: opts.Consent}
	p.scratch.New = func() any { return new(personalizeScratch) }
	counter := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Namespace: "marquee", Subsystem: "personalize", Name: name, Help: help})
	}
	p.minted = counter("visitors_minted_total", "Visitor cookies minted for visitors without a valid one.")
	p.filled = counter("slots_filled_total", "Slots filled with an offer.")
	p.planErrors = counter("plan_errors_total", "Pages with slot markers that could not be compiled safely and passed through.")
	p.renderErrors = counter("render_errors_total", "Offer templates that failed to render; the slot kept its fallback.")
	p.exprErrors = counter("condition_errors_total", "Segment or campaign conditions that failed at run time; each skipped its campaign.")
	p.bots = counter("bot_pages_total", "Pages with slots served to crawlers, always with the fallback content.")
	p.previews = counter("previews_total", "Pages served for a valid preview token.")
	if opts.Registry != nil {
		for _, c := range []prometheus.Collector{p.minted, p.filled, p.planErrors, p.renderErrors, p.exprErrors, p.bots, p.previews} {
			if err := opts.Registry.Register(c); err != nil {
				return nil, err
			}
		}
		if err := p.queue.register(opts.Registry); err != nil {
			return nil, err
		}
	}
	if p.recorder != nil {
		registerCampaigns(p.recorder, opts.Snapshot)
	}
	p.snap.Store(opts.Snapshot)
	return p, nil
}

// Swap replaces the compiled configuration and numbers it one past the
// one it replaces; requests already running finish with the one they
// started with.
func (p *Personalizer) Swap(s *Snapshot) {
	p.swapMu.Lock()
	defer p.swapMu.Unlock()
	s.Version = p.snap.Load().Version + 1
	if p.recorder != nil {
		registerCampaigns(p.recorder, s)
	}
	p.snap.Store(s)
}

// Snapshot returns the compiled configuration in use.
func (p *Personalizer) Snapshot() *Snapshot { return p.snap.Load() }

// Now returns the time on the personaliser's clock, which the admin API's
// explanations and preview links must share with the request path.
func (p *Personalizer) Now() time.Time { return p.now() }

// Wait blocks until the profile updates already queued for id (exposures,
// caps, conversions, observed views) are applied, or 100 ms pass: the same
// wait a request of that visitor makes, so that a caller sees its own
// writes.
func (p *Personalizer) Wait(id []byte) { p.queue.wait(id, nil) }

// Signer returns the visitor cookie signer.
func (p *Personalizer) Signer() *Signer { return p.signer }

// Close stops the node's write queue, shared with the Tracker if any, and
// applies the profile updates still queued, until ctx ends.
func (p *Personalizer) Close(ctx context.Context) error { return p.queue.close(ctx) }

// Rewrite personalises one page.
func (p *Personalizer) Rewrite(rc *proxy.RewriteContext) error {
	snap := p.snap.Load()
	body := rc.Body()
	plan, err := snap.Compiler.PlanHint(rc.URI().Path(), body, b2s(rc.ContentType()))
	if err != nil {
		// Markup too broken to be sure of: the page passes as it came.
		p.planErrors.Inc()
		return nil
	}
	slotted := plan.NumSlots() > 0
	conversion := snap.Engine.IsConversionPath(rc.URI().Path())
	if !slotted && !conversion {
		p.observeUnslotted(snap, rc)
		return nil
	}
	rc.Slotted = slotted
	if snap.bots.isBot(rc.RequestHeader().UserAgent()) {
		// Crawlers see the shop's own page, are never assigned, counted or
		// given a cookie, so search engines see one stable page.
		if slotted {
			p.bots.Inc()
		}
		return nil
	}
	if p.ingest.consent.optedOut(rc) {
		return nil
	}

	sc := p.scratch.Get().(*personalizeScratch)
	defer p.scratch.Put(sc)

	id, ok := p.signer.Verify(rc.Cookie(p.cookie))
	if !ok {
		if !slotted {
			return nil // a conversion by a visitor marquee never saw
		}
		if !p.ingest.consent.mayMint(rc) {
			return nil
		}
		sc.cookie = p.signer.AppendMint(sc.cookie[:0])
		id = sc.cookie[:VisitorIDLen]
		p.setCookie(rc, sc.cookie)
		p.minted.Inc()
	}

	vid := id
	id, sc.cust = p.resolve(rc, vid, sc.cust)
	prof, err := p.store.GetBytes(id)
	if err != nil {
		return err
	}
	if prof == nil {
		prof = emptyProfile
	}
	if p.ingest.tracker != nil && prof.Consent.Allows() {
		p.ingest.tracker.Observe(rc, vid, sc.cust)
	}
	now := p.now()
	if conversion && prof.Consent.Allows() {
		p.convert(snap, append([]byte(nil), id...), now)
	}
	if !slotted || !prof.Consent.Allows() {
		return nil
	}

	preview, previewing := p.preview(snap, rc, now)
	d := snap.Engine.Acquire(prof, id, now)
	defer d.Release()
	n := plan.NumSlots()
	sc.spans, sc.buf, sc.choices = sc.spans[:0], sc.buf[:0], sc.choices[:0]
	filled := false
	for i := range n {
		name := plan.Slot(i).Name
		var ch decide.Choice
		var ok bool
		if previewing && name == preview.slot {
			ch, ok = d.Force(preview.Campaign, preview.Variant)
			previewing = !ok
		} else {
			ch, ok = d.Choose(name)
		}
		if !ok {
			sc.spans = append(sc.spans, [2]int{-1, -1})
			continue
		}
		sc.choices = append(sc.choices, ch)
		start := len(sc.buf)
		sc.buf, err = d.AppendOffer(sc.buf, ch)
		if err != nil {
			p.renderErrors.Inc()
			p.log.Warn("offer failed to render; slot keeps its fallback", "campaign", ch.Campaign.ID, "slot", name, "err", err)
		}
		if err != nil || ch.Holdout() {
			sc.spans = append(sc.spans, [2]int{-1, -1})
			continue
		}
		sc.spans = append(sc.spans, [2]int{start, len(sc.buf)})
		filled = true
	}
	if d.Errors > 0 {
		p.exprErrors.Add(float64(d.Errors))
	}
	switch {
	case preview.Campaign != "":
		p.previews.Inc()
	case rc.RequestHeader().IsHead():
		// Nobody saw a HEAD response's body.
	default:
		p.expose(snap, id, prof, d, sc.choices, now)
	}
	if !filled {
		return nil
	}
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
	rc.Splice(plan, sc.offers)
	return nil
}

// previewRequest is a verified preview and the slot its campaign fills.
type previewRequest struct {
	Preview
	slot string
}

// preview reads a preview token from the query or a header.
func (p *Personalizer) preview(snap *Snapshot, rc *proxy.RewriteContext, now time.Time) (previewRequest, bool) {
	tok := rc.URI().QueryArgs().Peek(PreviewParam)
	if len(tok) == 0 {
		tok = rc.RequestHeader().Peek(PreviewHeader)
	}
	if len(tok) == 0 {
		return previewRequest{}, false
	}
	pv, err := p.signer.VerifyPreview(tok, now)
	if err != nil {
		return previewRequest{}, false
	}
	for _, c := range snap.Engine.Campaigns() {
		if c.ID == pv.Campaign {
			return previewRequest{Preview: pv, slot: c.Slot}, true
		}
	}
	return previewRequest{}, false
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

func (p *Personalizer) setCookie(rc *proxy.RewriteContext, value []byte) {
	c := fasthttp.AcquireCookie()
	defer fasthttp.ReleaseCookie(c)
	p.fillCookie(c, value, rc.IsTLS())
	rc.SetCookie(c)
}

// fillCookie sets c up as the visitor cookie holding value.
func (p *Personalizer) fillCookie(c *fasthttp.Cookie, value []byte, tls bool) {
	c.SetKey(p.cookie)
	c.SetValueBytes(value)
	c.SetPath("/")
	c.SetMaxAge(p.maxAge)
	c.SetHTTPOnly(true)
	c.SetSameSite(fasthttp.CookieSameSiteLaxMode)
	c.SetSecure(p.secure || tls)
}

// Interface guards.
var _ proxy.Rewriter = (*Personalizer)(nil)

// b2s views b as a string without copying, for look-ups that do not retain
// it.
func b2s(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }
