package personalize

import (
	"bytes"
	"context"
	"errors"
	"hash/maphash"
	"log/slog"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/marquee-proxy/marquee/proxy"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/marquee-proxy/marquee/config"
	msync "github.com/marquee-proxy/marquee/sync"
)

// TrackPage maps one URL path pattern to the event a page view records.
type TrackPage struct {
	// Path is a pattern such as "/p/{product}"; see config.CheckPathPattern.
	Path string
	// Event is what a view of a matching page records.
	Event msync.EventType
	// Category is a fixed category for every matching page.
	Category string
	// CategoryHeader names an origin response header carrying the page's
	// category.
	CategoryHeader string
}

// TrackerOptions configures a Tracker.
type TrackerOptions struct {
	// Store receives the updates. Required.
	Store *msync.Store
	// Pages map URL paths to events; the first match wins.
	Pages []TrackPage
	// EventHeader is the origin response header that describes an event,
	// e.g. "X-Marquee-Event". Empty: none.
	EventHeader string
	// Workers apply the node's profile updates: those observed here and,
	// for a Personalizer given this Tracker, its own. Zero means 4.
	Workers int
	// Queue bounds pending updates per worker times Workers. Zero means
	// 65536.
	Queue int
	// WaitBudget bounds how long a request waits for its visitor's pending
	// updates before deciding without them. Zero means 100 ms.
	WaitBudget time.Duration
	// Logger receives store failures. Nil discards.
	Logger *slog.Logger
	// Registry receives the update queue's metrics. Nil: not registered.
	Registry prometheus.Registerer
}

// Tracker turns the page views the proxy sees into profile updates. It
// decides what to write; the node's one write queue, which the Tracker
// starts and a Personalizer given it shares, applies the updates off the
// request path, each visitor's in order, and Wait lets the visitor's next
// request see them (read-your-writes on this node). It is safe for
// concurrent use.
type Tracker struct {
	pages []pagePattern
	evHdr string
	seed  maphash.Seed
	queue *writeQueue
	// linked remembers, lossily, hashes of visitor-customer pairs already
	// linked, so that a logged-in visitor's requests do not queue a link
	// each.
	linked [linkSlots]atomic.Uint64
}

const linkSlots = 1 << 16

// pagePattern is a compiled TrackPage.
type pagePattern struct {
	segs      []string // literal segments; "" at placeholder positions
	catIdx    int      // index of {category}, -1 when absent
	prodIdx   int
	ev        msync.EventType
	catBytes  []byte // the fixed category, if any
	catHeader string
}

// NewTracker starts the node's write queue; Close stops it.
func NewTracker(opts TrackerOptions) (*Tracker, error) {
	if opts.Store == nil {
		return nil, errors.New("personalize: tracker needs a store")
	}
	t := &Tracker{evHdr: opts.EventHeader, seed: maphash.MakeSeed()}
	for _, p := range opts.Pages {
		if msg := config.CheckPathPattern(p.Path); msg != "" {
			return nil, errors.New("personalize: tracking path " + strconv.Quote(p.Path) + ": " + msg)
		}
		t.pages = append(t.pages, compilePattern(p))
	}
	t.queue = newWriteQueue(opts.Store, opts.Logger, opts.Workers, opts.Queue, opts.WaitBudget)
	t.queue.tracker = t
	if err := t.queue.register(opts.Registry); err != nil {
		_ = t.Close(context.Background())
		return nil, err
	}
	return t, nil
}

// Close stops accepting updates and applies those queued, until ctx ends.
// The queue is the node's, shared with a Personalizer built on this
// Tracker: closing either closes it. It is safe to call more than once.
func (t *Tracker) Close(ctx context.Context) error { return t.queue.close(ctx) }

func compilePattern(p TrackPage) pagePattern {
	pp := pagePattern{catIdx: -1, prodIdx: -1, ev: p.Event, catBytes: []byte(p.Category), catHeader: p.CategoryHeader}
	if pp.ev == msync.EventInvalid {
		pp.ev = msync.EventView
	}
	for i, seg := range strings.Split(p.Path[1:], "/") {
		switch seg {
		case "{category}":
			pp.catIdx = i
			seg = ""
		case "{product}":
			pp.prodIdx = i
			seg = ""
		}
		pp.segs = append(pp.segs, seg)
	}
	return pp
}

// match reports whether path matches, and the placeholders' values as
// subslices of path.
func (pp *pagePattern) match(path []byte) (category, product []byte, ok bool) {
	if len(path) == 0 || path[0] != '/' {
		return nil, nil, false
	}
	rest := path[1:]
	for i, lit := range pp.segs {
		j := bytes.IndexByte(rest, '/')
		last := i == len(pp.segs)-1
		var seg []byte
		switch {
		case j < 0 && !last, j >= 0 && last && j != len(rest)-1:
			return nil, nil, false
		case j < 0:
			seg, rest = rest, nil
		default:
			seg, rest = rest[:j], rest[j+1:]
		}
		switch i {
		case pp.catIdx:
			category = seg
		case pp.prodIdx:
			product = seg
		default:
			if string(seg) != lit {
				return nil, nil, false
			}
		}
		if (i == pp.catIdx || i == pp.prodIdx) && len(seg) == 0 {
			return nil, nil, false
		}
	}
	return category, product, true
}

// Observe records what one page view says about its visitor: the page's
// event when its path matches a pattern, and the origin's event header.
// visitor is the visitor id; customer, when not empty, the customer id the
// view belongs to (the two are linked). It copies what it keeps and does
// not block; when the queue is full the update is dropped and counted.
func (t *Tracker) Observe(rc *proxy.RewriteContext, visitor, customer []byte) {
	if rc.RequestHeader().IsHead() {
		return // a HEAD request is not a page view
	}
	var f jobFields
	path := rc.URI().Path()
	for i := range t.pages {
		pp := &t.pages[i]
		cat, prod, ok := pp.match(path)
		if !ok {
			continue
		}
		f.event, f.typ, f.category, f.product = true, pp.ev, cat, prod
		if pp.ev == msync.EventView {
			f.path = landingPath(path)
		}
		if len(cat) == 0 {
			f.category = pp.catBytes
		}
		if pp.catHeader != "" {
			if h := rc.OriginHeader(pp.catHeader); len(h) > 0 {
				f.category = h
			}
		}
		break
	}
	if t.evHdr != "" {
		f.header = rc.OriginHeader(t.evHdr)
	}
	if !f.event && len(f.header) == 0 && len(customer) == 0 {
		return
	}
	f.visitor, f.customer = visitor, customer
	t.enqueue(&f)
}

// Visit records a view of a page no tracking pattern matches, so that the
// visitor's session is known to go on and, when the view starts one, where
// it landed (visit.landing). The caller calls it at most once per
// touchEvery per visitor: unlike a tracked view, it says nothing else.
// A tracked page is left to Observe, which records the same.
func (t *Tracker) Visit(visitor, customer, path []byte) {
	for i := range t.pages {
		if _, _, ok := t.pages[i].match(path); ok && t.pages[i].ev == msync.EventView {
			return
		}
	}
	p := landingPath(path)
	if p == nil {
		p = rootPath // still a view, that keeps the session going
	}
	t.enqueue(&jobFields{visitor: visitor, customer: customer, path: p, typ: msync.EventView, event: true})
}

var rootPath = []byte("/")

// landingPath is path when an event may carry it, else nil.
func landingPath(path []byte) []byte {
	if !msync.ValidPath(b2s(path)) {
		return nil
	}
	return path
}

// jobFields are the borrowed parts of an update, copied into one string by
// enqueue.
type jobFields struct {
	visitor, customer, category, product, header, path []byte
	typ                                                msync.EventType
	event                                              bool
}

// Link records, off the request path, that visitor belongs to customer.
// A pair linked recently is not queued again.
func (t *Tracker) Link(visitor, customer []byte) {
	h := t.pairHash(visitor, customer)
	if t.linked[h%linkSlots].Load() == h {
		return
	}
	t.enqueue(&jobFields{visitor: visitor, customer: customer})
}

func (t *Tracker) pairHash(visitor, customer []byte) uint64 {
	var mh maphash.Hash
	mh.SetSeed(t.seed)
	mh.Write(visitor)
	mh.WriteByte(0)
	mh.Write(customer)
	return mh.Sum64() | 1 // never 0, the empty slot
}

func (t *Tracker) enqueue(f *jobFields) {
	// One allocation holds every string the job keeps.
	var arr [256]byte
	b := append(arr[:0], f.visitor...)
	b = append(b, f.customer...)
	b = append(b, f.category...)
	b = append(b, f.product...)
	b = append(b, f.header...)
	b = append(b, f.path...)
	all := string(b)
	cut := func(n int) string { s := all[:n]; all = all[n:]; return s }
	j := job{hasEvent: f.event, typ: f.typ, ts: time.Now()}
	j.id = cut(len(f.visitor))
	j.customer = cut(len(f.customer))
	j.category = cut(len(f.category))
	j.product = cut(len(f.product))
	j.header = cut(len(f.header))
	j.path = cut(len(f.path))
	t.queue.push(&j)
}

// Wait blocks until every update queued for visitor has been applied, or
// the wait budget is spent. It does not allocate when there is nothing to
// wait for, the common case.
func (t *Tracker) Wait(visitor []byte) { t.queue.wait(visitor, nil) }

// collect does, on a queue worker, what one observation says: it links
// the visitor to the customer and appends the events to store to evs, and
// to conv the index in evs of an event header's event, which converts
// once stored when its type is a conversion event.
func (t *Tracker) collect(j *job, evs []msync.Event, conv []int) ([]msync.Event, []int) {
	q := t.queue
	if j.customer != "" {
		if err := q.store.Link(j.id, j.customer); err != nil {
			q.failed.Inc()
			q.log.Warn("tracking: link failed", "err", err)
		} else {
			h := t.pairHash([]byte(j.id), []byte(j.customer))
			t.linked[h%linkSlots].Store(h)
		}
	}
	if j.hasEvent {
		evs = append(evs, eventOf(j, msync.Event{Type: j.typ, Category: j.category, Product: j.product, Path: j.path, TS: j.ts}))
	}
	if j.header != "" {
		if ev, err := ParseEventHeader(j.header); err == nil {
			ev.TS = j.ts
			evs = append(evs, eventOf(j, ev))
			conv = append(conv, len(evs)-1)
		} else {
			q.failed.Inc()
		}
	}
	return evs, conv
}

// eventOf is ev as observed by j's visitor.
func eventOf(j *job, ev msync.Event) msync.Event {
	ev.Visitor = j.id
	ev.Customer = j.customer
	if ev.Customer != "" {
		// Linked already: the visitor id would only link again.
		ev.Visitor = ""
	}
	return ev
}

// ParseEventHeader parses an event header value: the event type, then
// "; key=value" pairs for category, product, value, currency and id, e.g.
// "add_to_cart; product=aero-earbuds; value=79".
func ParseEventHeader(s string) (msync.Event, error) {
	typ, rest, _ := strings.Cut(s, ";")
	ev := msync.Event{Type: msync.ParseEventType(strings.TrimSpace(typ))}
	if ev.Type == msync.EventInvalid {
		return ev, errors.New("personalize: event header: unknown event type")
	}
	for n := 0; rest != "" && n < 16; n++ {
		var pair string
		pair, rest, _ = strings.Cut(rest, ";")
		k, v, ok := strings.Cut(pair, "=")
		if !ok {
			return ev, errors.New("personalize: event header: want key=value")
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		switch k {
		case "category":
			ev.Category = v
		case "product":
			ev.Product = v
		case "currency":
			ev.Currency = v
		case "id":
			ev.ID = v
		case "value":
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return ev, errors.New("personalize: event header: value is not a number")
			}
			ev.Value = f
		case "name":
			ev.Props = map[string]any{"name": v}
		default:
			return ev, errors.New("personalize: event header: unknown key " + strconv.Quote(k))
		}
	}
	if rest != "" {
		return ev, errors.New("personalize: event header: too many fields")
	}
	return ev, nil
}
