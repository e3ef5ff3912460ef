package proxy

import (
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"

	"github.com/marquee-proxy/marquee/inject"
	msync "github.com/marquee-proxy/marquee/sync"
)

// PersonalizerOptions configures a Personalizer.
type PersonalizerOptions struct {
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
}

// Personalizer is the rewrite stage that makes marquee what it is: it
// recognises the visitor from the signed cookie (minting one when absent or
// invalid), finds the page's compiled plan, looks up the visitor's profile,
// decides an offer per slot and splices the offers in. It is safe for
// concurrent use.
type Personalizer struct {
	snap    atomic.Pointer[Snapshot]
	store   *msync.Store
	signer  *Signer
	cookie  string
	maxAge  int
	secure  bool
	now     func() time.Time
	log     *slog.Logger
	scratch sync.Pool // *personalizeScratch

	minted, filled, planErrors, renderErrors, exprErrors prometheus.Counter
}

// personalizeScratch is the per-request working memory of Rewrite.
type personalizeScratch struct {
	cookie []byte
	offers [][]byte
	spans  [][2]int
	buf    []byte
}

// emptyProfile stands for a visitor with no stored profile.
var emptyProfile = &msync.Profile{}

// NewPersonalizer returns the personalising rewrite stage.
func NewPersonalizer(opts PersonalizerOptions) (*Personalizer, error) {
	if opts.Snapshot == nil || opts.Store == nil {
		return nil, errors.New("proxy: personalizer needs a snapshot and a store")
	}
	signer, err := NewSigner(opts.Keys)
	if err != nil {
		return nil, err
	}
	p := &Personalizer{
		store:  opts.Store,
		signer: signer,
		cookie: opts.CookieName,
		maxAge: int(opts.CookieMaxAge / time.Second),
		secure: opts.SecureCookie,
		now:    opts.Now,
		log:    opts.Logger,
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
	p.scratch.New = func() any { return new(personalizeScratch) }
	counter := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Namespace: "marquee", Subsystem: "personalize", Name: name, Help: help})
	}
	p.minted = counter("visitors_minted_total", "Visitor cookies minted for visitors without a valid one.")
	p.filled = counter("slots_filled_total", "Slots filled with an offer.")
	p.planErrors = counter("plan_errors_total", "Pages with slot markers that could not be compiled safely and passed through.")
	p.renderErrors = counter("render_errors_total", "Offer templates that failed to render; the slot kept its fallback.")
	p.exprErrors = counter("condition_errors_total", "Segment or campaign conditions that failed at run time; each skipped its campaign.")
	if opts.Registry != nil {
		for _, c := range []prometheus.Collector{p.minted, p.filled, p.planErrors, p.renderErrors, p.exprErrors} {
			if err := opts.Registry.Register(c); err != nil {
				return nil, err
			}
		}
	}
	p.snap.Store(opts.Snapshot)
	return p, nil
}

// Swap replaces the compiled configuration; requests already running finish
// with the one they started with.
func (p *Personalizer) Swap(s *Snapshot) { p.snap.Store(s) }

// Snapshot returns the compiled configuration in use.
func (p *Personalizer) Snapshot() *Snapshot { return p.snap.Load() }

// Signer returns the visitor cookie signer.
func (p *Personalizer) Signer() *Signer { return p.signer }

// Rewrite personalises one page.
func (p *Personalizer) Rewrite(rc *RewriteContext) error {
	snap := p.snap.Load()
	body := rc.Body()
	plan, err := snap.Compiler.PlanHint(rc.URI().Path(), body, b2s(rc.ContentType()))
	if err != nil {
		// Markup too broken to be sure of: the page passes as it came.
		p.planErrors.Inc()
		return nil
	}
	if plan.NumSlots() == 0 {
		return nil
	}
	rc.Slotted = true

	sc := p.scratch.Get().(*personalizeScratch)
	defer p.scratch.Put(sc)

	id, ok := p.signer.Verify(rc.Cookie(p.cookie))
	if !ok {
		sc.cookie = p.signer.AppendMint(sc.cookie[:0])
		id = sc.cookie[:VisitorIDLen]
		p.setCookie(rc, sc.cookie)
		p.minted.Inc()
	}

	prof, err := p.store.GetBytes(id)
	if err != nil {
		return err
	}
	if prof == nil {
		prof = emptyProfile
	}
	if !prof.Consent.Allows() {
		return nil
	}

	d := snap.Engine.Acquire(prof, p.now())
	defer d.Release()
	n := plan.NumSlots()
	sc.spans = sc.spans[:0]
	sc.buf = sc.buf[:0]
	filled := false
	for i := range n {
		name := plan.Slot(i).Name
		if j := sameSlotBefore(plan, i, name); j >= 0 {
			sc.spans = append(sc.spans, sc.spans[j])
			continue
		}
		c := d.Choose(name)
		if c == nil {
			sc.spans = append(sc.spans, [2]int{-1, -1})
			continue
		}
		start := len(sc.buf)
		sc.buf, err = d.AppendOffer(sc.buf, c)
		if err != nil {
			sc.buf = sc.buf[:start]
			p.renderErrors.Inc()
			p.log.Warn("offer failed to render; slot keeps its fallback", "campaign", c.ID, "slot", name, "err", err)
			sc.spans = append(sc.spans, [2]int{-1, -1})
			continue
		}
		sc.spans = append(sc.spans, [2]int{start, len(sc.buf)})
		filled = true
	}
	if d.Errors > 0 {
		p.exprErrors.Add(float64(d.Errors))
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
	rc.Dst = plan.AppendSplice(rc.Dst, body, sc.offers)
	rc.Changed = true
	return nil
}

// sameSlotBefore returns the index of an earlier slot with the same name,
// or -1, so a name used twice on a page is decided once.
func sameSlotBefore(plan *inject.Plan, i int, name string) int {
	for j := range i {
		if plan.Slot(j).Name == name {
			return j
		}
	}
	return -1
}

func (p *Personalizer) setCookie(rc *RewriteContext, value []byte) {
	c := fasthttp.AcquireCookie()
	defer fasthttp.ReleaseCookie(c)
	c.SetKey(p.cookie)
	c.SetValueBytes(value)
	c.SetPath("/")
	c.SetMaxAge(p.maxAge)
	c.SetHTTPOnly(true)
	c.SetSameSite(fasthttp.CookieSameSiteLaxMode)
	c.SetSecure(p.secure || rc.IsTLS())
	rc.SetCookie(c)
}

// Interface guards.
var _ Rewriter = (*Personalizer)(nil)
