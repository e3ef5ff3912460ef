package personalize

import (
	"context"
	"errors"
	"hash/maphash"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/marquee-proxy/marquee/internal/background"
	"github.com/marquee-proxy/marquee/profile"
	msync "github.com/marquee-proxy/marquee/sync"
)

// Everything a request learns about its visitor (observed views and
// events, links to a customer, exposures, caps, conversions) is written to
// the profile store by one background queue per node, after the response.
// A visitor's writes always go to the same worker, in order; the visitor's
// next request waits for them, briefly, so that it reads its own writes: a
// capped offer shown three times is not shown a fourth because the third
// count was still queued, and the fourth electronics page sees the three
// before it. A full queue drops the write and counts it rather than slow
// the request down.
const (
	defaultQueueWorkers = 4
	defaultQueueLen     = 1 << 16 // all workers together
	// personalizerQueueLen sizes the queue of a Personalizer without a
	// Tracker, which writes only exposures, caps and conversions.
	personalizerQueueLen = 1 << 14
	readYourWritesMax    = 100 * time.Millisecond
	// waitSlots is how many visitors' last writes are remembered for
	// waiting; visitors sharing a slot wait for each other, harmlessly.
	waitSlots = 4096
	// maxBatch bounds the writes a worker takes at once; observed events
	// among them go to the store in one transaction.
	maxBatch = 128
	// queueLoop names the workers in marquee_background_panics_total.
	queueLoop = "personalize.queue"
)

// ProfileFunc changes a profile copy inside a store update.
type ProfileFunc func(p *profile.Profile) error

// job is one queued write, owning its strings: a change to profile id (fn
// set), or what a page view observed of visitor id (fn nil).
type job struct {
	seq uint64
	id  string // the profile id, or the observed visitor id

	// A change the proxy makes itself.
	fn    ProfileFunc
	after func() // runs once fn's change is stored; may be nil

	// An observation.
	customer string // linked to the visitor; events land on it
	header   string // raw event header, parsed by the worker
	category string
	product  string
	path     string // a view's page, for the session's landing
	ts       time.Time
	typ      msync.EventType
	hasEvent bool
}

// writeQueue is the node's background write queue: its workers apply jobs
// to the store, each key's in the order queued, and wait lets a request
// see its visitor's. It is safe for concurrent use.
type writeQueue struct {
	store   *msync.Store
	log     *slog.Logger
	budget  time.Duration
	seed    maphash.Seed
	tracker *Tracker // interprets observations; nil when there are none
	// converter credits an origin's event header naming a conversion
	// event, once the event is stored (see Personalizer.CreditEvent);
	// set by the Personalizer after the workers started, hence atomic.
	converter atomic.Pointer[eventConverter]
	workers   []*queueWorker
	// slots hold, per hash of a key, the sequence number of the last job
	// queued for it on its worker.
	slots [waitSlots]atomic.Uint64
	wg    sync.WaitGroup
	once  sync.Once
	done  chan struct{} // closed when every worker has returned

	applied, dropped, failed, waited prometheus.Counter
}

// eventConverter credits a stored event that may be a conversion. It runs
// on a queue worker and must not block; ev is valid only for the call.
type eventConverter func(ev *msync.Event)

type queueWorker struct {
	mu     sync.Mutex // guards seq and sends on ch, so ch is in seq order
	seq    uint64
	ch     chan job
	closed bool

	done atomic.Uint64 // highest seq applied

	nmu    sync.Mutex
	notify chan struct{} // closed and replaced after each applied batch
}

// newWriteQueue starts workers goroutines (zero: 4) sharing a queue of
// length total (zero: 65536); a request waits at most budget (zero: 100
// ms) for its visitor's writes.
func newWriteQueue(store *msync.Store, log *slog.Logger, workers, total int, budget time.Duration) *writeQueue {
	if workers <= 0 {
		workers = defaultQueueWorkers
	}
	if total <= 0 {
		total = defaultQueueLen
	}
	if budget <= 0 {
		budget = readYourWritesMax
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	counter := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Namespace: "marquee", Subsystem: "personalize", Name: name, Help: help})
	}
	q := &writeQueue{
		store:   store,
		log:     log,
		budget:  budget,
		seed:    maphash.MakeSeed(),
		done:    make(chan struct{}),
		applied: counter("profile_updates_applied_total", "Profile updates applied: observed events the store accepted and the proxy's own changes stored."),
		dropped: counter("profile_updates_dropped_total", "Profile updates dropped because the update queue was full or closed."),
		failed:  counter("profile_updates_failed_total", "Profile updates the store refused, that could not be read, or that panicked."),
		waited:  counter("reads_waited_total", "Requests that waited for their visitor's pending updates."),
	}
	for range workers {
		w := &queueWorker{ch: make(chan job, max(1, total/workers)), notify: make(chan struct{})}
		q.workers = append(q.workers, w)
		q.wg.Add(1)
		go func() {
			defer q.wg.Done()
			background.Run(q.log, queueLoop, nil, func() { q.work(w) })
		}()
	}
	go func() {
		q.wg.Wait()
		close(q.done)
	}()
	return q
}

// register adds the queue's counters to reg. The queue is shared by the
// Tracker and the Personalizer, which may both register it on the same
// registry: that is not an error.
func (q *writeQueue) register(reg prometheus.Registerer) error {
	if reg == nil {
		return nil
	}
	for _, c := range []prometheus.Collector{q.applied, q.dropped, q.failed, q.waited} {
		if err := reg.Register(c); err != nil {
			var are prometheus.AlreadyRegisteredError
			if errors.As(err, &are) && are.ExistingCollector == c {
				continue
			}
			return err
		}
	}
	return nil
}

// update queues fn for profile id, and after to run once fn's change is
// stored (nil: nothing). It does not block.
func (q *writeQueue) update(id string, fn ProfileFunc, after func()) {
	q.push(&job{id: id, fn: fn, after: after})
}

// push queues j on its key's worker. A full or closed queue drops it and
// counts it: the page was already served, and losing a view or an exposure
// count is better than slowing every visitor down.
func (q *writeQueue) push(j *job) {
	slot := maphash.String(q.seed, j.id) % waitSlots
	w := q.workers[slot%uint64(len(q.workers))]
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		q.dropped.Inc()
		return
	}
	j.seq = w.seq + 1
	select {
	case w.ch <- *j:
		w.seq = j.seq
		q.slots[slot].Store(j.seq)
	default:
		q.dropped.Inc()
	}
}

// pending returns the worker and sequence number a request for key must
// wait for, or nil when nothing of key's is pending. Empty keys have none.
func (q *writeQueue) pending(key []byte) (*queueWorker, uint64) {
	if len(key) == 0 {
		return nil, 0
	}
	slot := maphash.Bytes(q.seed, key) % waitSlots
	want := q.slots[slot].Load()
	if want == 0 {
		return nil, 0
	}
	w := q.workers[slot%uint64(len(q.workers))]
	if w.done.Load() >= want {
		return nil, 0
	}
	return w, want
}

// wait blocks until the writes queued for a and for b (either may be nil)
// are applied, or the queue's budget, shared by both, is spent. It does
// not allocate when nothing is pending, the common case, and retains
// neither key.
func (q *writeQueue) wait(a, b []byte) {
	wa, na := q.pending(a)
	wb, nb := q.pending(b)
	if wa == nil && wb == nil {
		return
	}
	q.waited.Inc()
	timer := time.NewTimer(q.budget)
	defer timer.Stop()
	if wa != nil && !wa.await(na, timer.C) {
		return
	}
	if wb != nil {
		wb.await(nb, timer.C)
	}
}

// await blocks until w has applied seq want, reporting false when timeout
// fires first.
func (w *queueWorker) await(want uint64, timeout <-chan time.Time) bool {
	for {
		w.nmu.Lock()
		ch := w.notify
		w.nmu.Unlock()
		if w.done.Load() >= want {
			return true
		}
		select {
		case <-ch:
		case <-timeout:
			return false
		}
	}
}

// work applies w's jobs in batches until its queue is closed and drained.
// It runs under background.Run: a panic outside any job restarts it.
func (q *writeQueue) work(w *queueWorker) {
	batch := make([]job, 0, maxBatch)
	evs := make([]msync.Event, 0, maxBatch)
	var conv []int
	for j := range w.ch {
		batch = append(batch[:0], j)
	fill:
		for len(batch) < maxBatch {
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
		conv = q.apply(w, batch, evs[:0], conv[:0])
		clear(batch) // let the jobs' strings and closures go
	}
}

// apply applies one batch in order, then marks it done, even when part of
// it panicked, so that no request waits for it in vain. Each job is
// guarded, and so is each store write of observed events: a panic costs
// only the writes it interrupted, which are counted as failed.
//
// conv is scratch space for the indexes into evs of events that convert
// once stored; apply returns it for reuse.
func (q *writeQueue) apply(w *queueWorker, batch []job, evs []msync.Event, conv []int) []int {
	defer w.markDone(batch[len(batch)-1].seq)
	for i := range batch {
		j := &batch[i]
		if j.fn == nil {
			if background.Guard(q.log, queueLoop, func() { evs, conv = q.tracker.collect(j, evs, conv) }) {
				q.failed.Inc()
			}
			continue
		}
		// Events observed before this change are stored before it.
		evs, conv = q.flush(evs, conv)
		if background.Guard(q.log, queueLoop, func() { q.change(j) }) {
			q.failed.Inc()
		}
	}
	_, conv = q.flush(evs, conv)
	return conv
}

// change stores one change of the proxy's own, then runs its after.
func (q *writeQueue) change(j *job) {
	if _, err := q.store.Update(j.id, j.fn); err != nil {
		q.failed.Inc()
		q.log.Warn("profile update failed", "id", j.id, "err", err)
		return
	}
	q.applied.Inc()
	if j.after != nil {
		j.after()
	}
}

// flush stores the observed events evs in one transaction, then credits
// the conversions among them (indexes conv) that were accepted, not
// duplicates, and returns both emptied.
func (q *writeQueue) flush(evs []msync.Event, conv []int) ([]msync.Event, []int) {
	if len(evs) == 0 {
		return evs, conv[:0]
	}
	if background.Guard(q.log, queueLoop, func() {
		res := q.store.ApplyObserved(evs)
		for _, r := range res {
			if r.Status == msync.EventAccepted {
				q.applied.Inc()
			} else {
				q.failed.Inc()
			}
		}
		if f := q.converter.Load(); f != nil {
			for _, i := range conv {
				if i < len(res) && res[i].Status == msync.EventAccepted {
					(*f)(&evs[i])
				}
			}
		}
	}) {
		q.failed.Add(float64(len(evs)))
	}
	clear(evs) // the events' strings are the jobs'; let them go
	return evs[:0], conv[:0]
}

// markDone records that every job up to seq is applied and wakes the
// requests waiting for one of them.
func (w *queueWorker) markDone(seq uint64) {
	w.done.Store(seq)
	w.nmu.Lock()
	close(w.notify)
	w.notify = make(chan struct{})
	w.nmu.Unlock()
}

// close stops accepting jobs and applies those queued, until ctx ends. It
// is safe to call more than once, from either owner of the queue.
func (q *writeQueue) close(ctx context.Context) error {
	q.once.Do(func() {
		for _, w := range q.workers {
			w.mu.Lock()
			w.closed = true
			close(w.ch)
			w.mu.Unlock()
		}
	})
	select {
	case <-q.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
