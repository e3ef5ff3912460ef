package personalize

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/marquee-proxy/marquee/internal/expiring"
	"github.com/marquee-proxy/marquee/profile"
	"github.com/marquee-proxy/marquee/proxy"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"

	"github.com/marquee-proxy/marquee/decide"
	"github.com/marquee-proxy/marquee/export"
	msync "github.com/marquee-proxy/marquee/sync"
)

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
	exporter *export.Exporter // nil: nothing exported
	queue    *writeQueue      // the node's, shared with the Tracker
	node     string
	ingest   ingest
	scratch  sync.Pool // *personalizeScratch
	// renderLog limits the logging of failed offer renders.
	renderLog *logLimiter
	// held are the previews the campaign editor's page preview tokens
	// name (HoldPreview).
	held *expiring.Store[heldPreview]
	// frameAncestors is the CSP a page preview is served with when the
	// origin forbids framing; nil: the origin's rules stand.
	frameAncestors []byte

	segMu    sync.Mutex    // one segment estimate at a time
	segCache *segmentCache // the last one; guarded by segMu

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
	target  []byte         // the page's path and query, for the export
	subject export.Subject // the page's exported records' common part
	context requestContext // what the decision reads of the request
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
	opts = opts.withDefaults()
	p := &Personalizer{
		store:    opts.Store,
		signer:   signer,
		cookie:   opts.CookieName,
		maxAge:   int(opts.CookieMaxAge / time.Second),
		secure:   opts.SecureCookie,
		now:      opts.Now,
		log:      opts.Logger,
		recorder: opts.Recorder,
		exporter: opts.Exporter,
		node:     opts.Node,

		renderLog: newLogLimiter(renderLogEvery),
		held:      expiring.New[heldPreview](maxHeld),
	}
	if opts.PreviewFrameAncestors != "" {
		p.frameAncestors = []byte("frame-ancestors " + opts.PreviewFrameAncestors)
	}
	if opts.Tracker != nil {
		p.queue = opts.Tracker.queue // one write queue per node
	} else {
		p.queue = newWriteQueue(opts.Store, p.log, defaultQueueWorkers, personalizerQueueLen, 0)
	}
	p.ingest = ingest{tracker: opts.Tracker, customer: opts.Customer, consent: opts.Consent}
	conv := eventConverter(p.CreditEvent)
	p.queue.converter.Store(&conv)
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
		if err := p.register(opts.Registry); err != nil {
			if opts.Tracker == nil {
				_ = p.queue.close(context.Background()) // its workers are ours
			}
			return nil, err
		}
	}
	if p.recorder != nil {
		registerCampaigns(p.recorder, opts.Snapshot)
	}
	p.snap.Store(opts.Snapshot)
	// The event path reads the catalog of the snapshot in force, so every
	// Swap changes it with the decisions' catalog.
	opts.Store.SetProducts(p.products)
	return p, nil
}

// register registers the personaliser's metrics and its queue's.
func (p *Personalizer) register(r prometheus.Registerer) error {
	for _, c := range []prometheus.Collector{p.minted, p.filled, p.planErrors, p.renderErrors, p.exprErrors, p.bots, p.previews} {
		if err := r.Register(c); err != nil {
			return err
		}
	}
	return p.queue.register(r)
}

// products returns the catalog of the snapshot in force, for the store.
func (p *Personalizer) products() msync.Products { return p.snap.Load().Products() }

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
// caps, conversions, observed views) are applied, or the queue's wait
// budget (TrackerOptions.WaitBudget, 100 ms by default) passes: the same
// wait a request of that visitor makes, so that a caller sees its own
// writes.
func (p *Personalizer) Wait(id []byte) { p.queue.wait(id, nil) }

// Signer returns the visitor cookie signer.
func (p *Personalizer) Signer() *Signer { return p.signer }

// Close stops the node's write queue, shared with the Tracker if any, and
// applies the profile updates still queued, until ctx ends. The store keeps
// reading the catalog of this Personalizer's last snapshot for events
// until another Personalizer is built on it.
func (p *Personalizer) Close(ctx context.Context) error { return p.queue.close(ctx) }

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
