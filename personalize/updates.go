package personalize

import (
	"context"
	"hash/maphash"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/marquee-proxy/marquee/profile"
	msync "github.com/marquee-proxy/marquee/sync"
)

// Profile updates the proxy itself makes (exposures, caps, conversions) are
// applied off the request path by a background worker. A visitor's next
// request waits for that visitor's pending updates, briefly, so that it
// reads its own writes: a capped offer shown three times is not shown a
// fourth because the third count was still queued.
const (
	updateQueueLen    = 1 << 12 // per worker
	updateWorkers     = 4
	updateShards      = 64
	readYourWritesMax = 100 * time.Millisecond
)

// ProfileFunc changes a profile copy inside a store update.
type ProfileFunc func(p *profile.Profile) error

type profileUpdate struct {
	id    string
	fn    ProfileFunc
	after func() // runs once fn's change is stored; may be nil
}

// updater applies queued profile updates, each visitor's in order: a
// visitor's updates always go to the same worker.
type updater struct {
	store   *msync.Store
	log     *slog.Logger
	queues  [updateWorkers]chan profileUpdate
	seed    maphash.Seed
	pending [updateShards]pendingShard
	dropped prometheus.Counter
	failed  prometheus.Counter
	done    chan struct{}

	mu     sync.RWMutex // guards closed against a send on the closed queue
	closed bool
}

type pendingShard struct {
	mu   sync.Mutex
	cond sync.Cond
	n    map[string]int
}

func newUpdater(store *msync.Store, log *slog.Logger) *updater {
	u := &updater{
		store: store,
		log:   log,
		seed:  maphash.MakeSeed(),
		done:  make(chan struct{}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "marquee", Subsystem: "personalize",
			Name: "profile_updates_dropped_total", Help: "Profile updates dropped because the update queue was full."}),
		failed: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "marquee", Subsystem: "personalize",
			Name: "profile_updates_failed_total", Help: "Profile updates the store refused."}),
	}
	for i := range u.pending {
		u.pending[i].n = map[string]int{}
		u.pending[i].cond.L = &u.pending[i].mu
	}
	var wg sync.WaitGroup
	for i := range u.queues {
		u.queues[i] = make(chan profileUpdate, updateQueueLen)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for up := range u.queues[i] {
				u.apply(up)
			}
		}()
	}
	go func() {
		wg.Wait()
		close(u.done)
	}()
	return u
}

func (u *updater) shard(id string) *pendingShard { return u.shardOf(maphash.String(u.seed, id)) }

// shardOf returns the pending shard of an id hashing to h. The quotient by
// updateWorkers, whose remainder picks the worker, spreads one worker's ids
// over every shard.
func (u *updater) shardOf(h uint64) *pendingShard {
	return &u.pending[h/updateWorkers%updateShards]
}

// enqueue queues fn for profile id. A full queue drops the update and
// counts it: the page was already served, and losing an exposure count is
// better than slowing every visitor down.
func (u *updater) enqueue(id string, fn ProfileFunc) { u.enqueueThen(id, fn, nil) }

// enqueueThen is enqueue with after run once the change is stored.
func (u *updater) enqueueThen(id string, fn ProfileFunc, after func()) {
	u.mu.RLock()
	defer u.mu.RUnlock()
	if u.closed {
		u.dropped.Inc()
		return
	}
	h := maphash.String(u.seed, id)
	sh := u.shardOf(h)
	sh.mu.Lock()
	sh.n[id]++
	sh.mu.Unlock()
	select {
	case u.queues[h%updateWorkers] <- profileUpdate{id: id, fn: fn, after: after}:
	default:
		u.dropped.Inc()
		u.finish(id)
	}
}

func (u *updater) finish(id string) {
	sh := u.shard(id)
	sh.mu.Lock()
	if sh.n[id]--; sh.n[id] <= 0 {
		delete(sh.n, id)
		sh.cond.Broadcast()
	}
	sh.mu.Unlock()
}

// wait blocks until id has no pending update, or readYourWritesMax has
// passed. id is not retained.
func (u *updater) wait(id []byte) {
	sh := u.shardOf(maphash.Bytes(u.seed, id))
	sh.mu.Lock()
	if sh.n[string(id)] == 0 {
		sh.mu.Unlock()
		return
	}
	deadline := time.Now().Add(readYourWritesMax)
	timer := time.AfterFunc(readYourWritesMax, func() {
		sh.mu.Lock()
		sh.cond.Broadcast()
		sh.mu.Unlock()
	})
	for sh.n[string(id)] > 0 && time.Now().Before(deadline) {
		sh.cond.Wait()
	}
	sh.mu.Unlock()
	timer.Stop()
}

func (u *updater) apply(up profileUpdate) {
	defer u.finish(up.id)
	defer func() {
		if v := recover(); v != nil {
			u.failed.Inc()
			u.log.Error("profile update panicked", "id", up.id, "panic", v)
		}
	}()
	if _, err := u.store.Update(up.id, up.fn); err != nil {
		u.failed.Inc()
		u.log.Warn("profile update failed", "id", up.id, "err", err)
		return
	}
	if up.after != nil {
		up.after()
	}
}

// close stops accepting updates and applies those queued, until ctx ends.
func (u *updater) close(ctx context.Context) error {
	u.mu.Lock()
	if !u.closed {
		u.closed = true
		for _, q := range u.queues {
			close(q)
		}
	}
	u.mu.Unlock()
	select {
	case <-u.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
