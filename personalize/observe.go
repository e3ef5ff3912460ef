package personalize

import (
	"bytes"
	"errors"
	"hash/maphash"
	"log/slog"
	"strconv"
	"strings"
	"sync"
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
	// Workers apply updates. Zero means 4.
	Workers int
	// Queue bounds pending updates per worker times Workers. Zero means
	// 65536.
	Queue int
	// WaitBudget bounds how long a request waits for its visitor's pending
	// update before deciding without it. Zero means 100 ms.
	WaitBudget time.Duration
	// Logger receives store failures. Nil discards.
	Logger *slog.Logger
	// Registry receives the tracker's metrics. Nil: not registered.
	Registry prometheus.Registerer
}

// Tracker turns the page views the proxy sees into profile updates, applied
// by worker goroutines off the request path. Updates of one visitor go to
// one worker in order, and Wait lets the visitor's next request see them
// (read-your-writes on this node). It is safe for concurrent use.
type Tracker struct {
	store   *msync.Store
	pages   []pagePattern
	evHdr   string
	budget  time.Duration
	log     *slog.Logger
	seed    maphash.Seed
	workers []*trackWorker
	// slots hold, per hash of a visitor id, the sequence number of the
	// last update enqueued for it on its worker.
	slots [trackSlots]atomic.Uint64
	// linked remembers, lossily, hashes of visitor-customer pairs already
	// linked, so that a logged-in visitor's requests do not queue a link
	// each.
	linked [linkSlots]atomic.Uint64
	wg     sync.WaitGroup
	once   sync.Once

	applied, dropped, failed, waited prometheus.Counter
}

const (
	trackSlots = 4096
	linkSlots  = 1 << 16
)

type trackWorker struct {
	mu     sync.Mutex // guards seq and sends on ch, so ch is in seq order
	seq    uint64
	ch     chan trackJob
	closed bool

	done atomic.Uint64 // highest seq applied

	nmu    sync.Mutex
	notify chan struct{} // closed and replaced after each applied batch
}

// trackJob is one observed update, owning its strings.
type trackJob struct {
	seq      uint64
	visitor  string
	customer string
	header   string // raw event header, parsed by the worker
	ev       msync.Event
	hasEvent bool
}

// pagePattern is a compiled TrackPage.
type pagePattern struct {
	segs      []string // literal segments; "" at placeholder positions
	catIdx    int      // index of {category}, -1 when absent
	prodIdx   int
	ev        msync.EventType
	catBytes  []byte // the fixed category, if any
	catHeader string
}

// NewTracker starts the tracker's workers; Close stops them.
func NewTracker(opts TrackerOptions) (*Tracker, error) {
	if opts.Store == nil {
		return nil, errors.New("personalize: tracker needs a store")
	}
	t := &Tracker{store: opts.Store, evHdr: opts.EventHeader, budget: opts.WaitBudget, log: opts.Logger, seed: maphash.MakeSeed()}
	for _, p := range opts.Pages {
		if msg := config.CheckPathPattern(p.Path); msg != "" {
			return nil, errors.New("personalize: tracking path " + strconv.Quote(p.Path) + ": " + msg)
		}
		t.pages = append(t.pages, compilePattern(p))
	}
	if t.budget <= 0 {
		t.budget = 100 * time.Millisecond
	}
	if t.log == nil {
		t.log = slog.New(slog.DiscardHandler)
	}
	n := opts.Workers
	if n <= 0 {
		n = 4
	}
	q := opts.Queue
	if q <= 0 {
		q = 65536
	}
	counter := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Namespace: "marquee", Subsystem: "tracking", Name: name, Help: help})
	}
	t.applied = counter("updates_applied_total", "Observed page views and events applied to profiles.")
	t.dropped = counter("updates_dropped_total", "Observed updates dropped because the queue was full.")
	t.failed = counter("updates_failed_total", "Observed updates the store refused or failed to apply.")
	t.waited = counter("reads_waited_total", "Requests that waited for their visitor's pending update.")
	if opts.Registry != nil {
		for _, c := range []prometheus.Collector{t.applied, t.dropped, t.failed, t.waited} {
			if err := opts.Registry.Register(c); err != nil {
				return nil, err
			}
		}
	}
	for range n {
		w := &trackWorker{ch: make(chan trackJob, max(1, q/n)), notify: make(chan struct{})}
		t.workers = append(t.workers, w)
		t.wg.Add(1)
		go t.run(w)
	}
	return t, nil
}

// Close stops accepting updates, applies those queued and returns. It is
// safe to call more than once.
func (t *Tracker) Close() {
	t.once.Do(func() {
		for _, w := range t.workers {
			w.mu.Lock()
			w.closed = true
			close(w.ch)
			w.mu.Unlock()
		}
		t.wg.Wait()
	})
}

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

// jobFields are the borrowed parts of an update, copied into one string by
// enqueue.
type jobFields struct {
	visitor, customer, category, product, header []byte
	typ                                          msync.EventType
	event                                        bool
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
	slot := maphash.Bytes(t.seed, f.visitor) % trackSlots
	w := t.workers[slot%uint64(len(t.workers))]
	// One allocation holds every string the job keeps.
	var arr [256]byte
	b := append(arr[:0], f.visitor...)
	b = append(b, f.customer...)
	b = append(b, f.category...)
	b = append(b, f.product...)
	b = append(b, f.header...)
	all := string(b)
	cut := func(n int) string { s := all[:n]; all = all[n:]; return s }
	job := trackJob{hasEvent: f.event}
	job.visitor = cut(len(f.visitor))
	job.customer = cut(len(f.customer))
	job.ev = msync.Event{Type: f.typ, Category: cut(len(f.category)), Product: cut(len(f.product)), TS: time.Now()}
	job.header = cut(len(f.header))
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return
	}
	job.seq = w.seq + 1
	select {
	case w.ch <- job:
		w.seq = job.seq
		t.slots[slot].Store(job.seq)
	default:
		t.dropped.Inc()
	}
	w.mu.Unlock()
}

// Wait blocks until every update enqueued for visitor has been applied, or
// the wait budget is spent. It does not allocate when there is nothing to
// wait for, the common case.
func (t *Tracker) Wait(visitor []byte) {
	slot := maphash.Bytes(t.seed, visitor) % trackSlots
	want := t.slots[slot].Load()
	if want == 0 {
		return
	}
	w := t.workers[slot%uint64(len(t.workers))]
	if w.done.Load() >= want {
		return
	}
	t.waited.Inc()
	timer := time.NewTimer(t.budget)
	defer timer.Stop()
	for {
		w.nmu.Lock()
		ch := w.notify
		w.nmu.Unlock()
		if w.done.Load() >= want {
			return
		}
		select {
		case <-ch:
		case <-timer.C:
			return
		}
	}
}

// maxTrackBatch bounds the updates a worker applies in one transaction.
const maxTrackBatch = 128

func (t *Tracker) run(w *trackWorker) {
	defer t.wg.Done()
	batch := make([]trackJob, 0, maxTrackBatch)
	evs := make([]msync.Event, 0, maxTrackBatch)
	for job := range w.ch {
		batch = append(batch[:0], job)
	fill:
		for len(batch) < maxTrackBatch {
			select {
			case j, ok := <-w.ch:
				if !ok {
					break fill
				}
				batch = append(batch, j)
			default:
				break fill
			}
		}
		evs = evs[:0]
		for i := range batch {
			j := &batch[i]
			if j.customer != "" {
				if err := t.store.Link(j.visitor, j.customer); err != nil {
					t.failed.Inc()
					t.log.Warn("tracking: link failed", "err", err)
				} else {
					h := t.pairHash([]byte(j.visitor), []byte(j.customer))
					t.linked[h%linkSlots].Store(h)
				}
			}
			if j.hasEvent {
				evs = append(evs, t.eventOf(j, j.ev))
			}
			if j.header != "" {
				if ev, err := ParseEventHeader(j.header); err == nil {
					ev.TS = j.ev.TS
					evs = append(evs, t.eventOf(j, ev))
				} else {
					t.failed.Inc()
				}
			}
		}
		if len(evs) > 0 {
			for _, r := range t.store.ApplyObserved(evs) {
				if r.Status == msync.EventAccepted {
					t.applied.Inc()
				} else {
					t.failed.Inc()
				}
			}
		}
		w.done.Store(batch[len(batch)-1].seq)
		w.nmu.Lock()
		close(w.notify)
		w.notify = make(chan struct{})
		w.nmu.Unlock()
	}
}

func (t *Tracker) eventOf(j *trackJob, ev msync.Event) msync.Event {
	ev.Visitor = j.visitor
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
