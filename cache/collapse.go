package cache

import (
	"time"
)

// Collapsed forwarding. Concurrent misses for one key make one origin
// request: the first becomes the flight's leader and fetches, the others
// wait for it and then look the key up again. A waiter gives up after
// Options.CollapseWait; a waiter that finds nothing stored after the
// flight (the response was not storable, or varied) fetches itself without
// joining another flight.
//
// The flight's key is the primary key, or the secondary key when the URL
// is known to vary, so that one variant's fetch holds up no other's.
//
// Two short memories per key keep collapsing from hurting:
//
//   - pass (like Varnish's hit-for-pass): the last response could not be
//     stored, so requests do not queue behind each other's fetches of what
//     each must fetch anyway. A stored response ends it.
//   - failing: the last fetch failed (an unreachable or timed-out origin,
//     500, 502, 503, 504), so requests holding a stale entry usable on
//     error serve it instead of piling onto the origin, and background
//     revalidations back off. A stored response ends it.

// Memories of a key's last fetch.
const (
	// PassFor is how long a key whose response could not be stored is
	// fetched without collapsing.
	PassFor = 10 * time.Second
	// FailFor is how long a key whose fetch failed is served stale, when
	// it may be, without asking the origin.
	FailFor = 5 * time.Second
	// maxNotes bounds the keys remembered; past it, expired ones are
	// swept and new ones dropped until there is room.
	maxNotes = 1 << 14
)

// Flight is one origin fetch other requests may wait for.
type Flight struct {
	key    string
	done   chan struct{}
	failed bool // guarded by Cache.flightMu
}

// note is what the cache remembers of a key's last fetch.
type note struct {
	until   int64 // Unix ns
	failing bool  // otherwise: pass
}

// Join returns the flight fetching key and whether the caller leads it. A
// leader must call Land, Pass or Fail when its response is stored or known
// not to be; the others call Wait. It returns a nil flight when the key
// passes (see PassFor): the caller fetches on its own.
func (c *Cache) Join(key []byte) (f *Flight, leader bool) {
	c.flightMu.Lock()
	defer c.flightMu.Unlock()
	if n, ok := c.notes[b2s(key)]; ok && !n.failing && time.Now().UnixNano() < n.until {
		return nil, false
	}
	if f := c.flights[b2s(key)]; f != nil {
		c.metrics.collapsed.Inc()
		return f, false
	}
	return c.startLocked(key), true
}

// Lead starts a flight for key and returns it when none is under way, for
// a background revalidation that nobody waits for; otherwise nil.
func (c *Cache) Lead(key []byte) *Flight {
	c.flightMu.Lock()
	defer c.flightMu.Unlock()
	if c.flights[b2s(key)] != nil {
		return nil
	}
	return c.startLocked(key)
}

// startLocked starts the flight fetching key, led by the caller.
func (c *Cache) startLocked(key []byte) *Flight {
	f := &Flight{key: string(key), done: make(chan struct{})}
	c.flights[f.key] = f
	return f
}

// Land ends the flight f, waking its waiters. It is idempotent.
func (c *Cache) Land(f *Flight) {
	c.flightMu.Lock()
	defer c.flightMu.Unlock()
	c.landLocked(f)
}

func (c *Cache) landLocked(f *Flight) {
	if c.flights[f.key] == f {
		delete(c.flights, f.key)
		close(f.done)
	}
}

// Pass ends the flight f, whose response may not be stored: for PassFor
// its key is fetched without collapsing.
func (c *Cache) Pass(f *Flight) {
	c.flightMu.Lock()
	defer c.flightMu.Unlock()
	c.noteLocked(f.key, note{until: time.Now().Add(PassFor).UnixNano()})
	c.landLocked(f)
}

// Fail ends the flight f, whose fetch failed: its waiters see Failed, and
// for FailFor the key is Failing.
func (c *Cache) Fail(f *Flight) {
	c.flightMu.Lock()
	defer c.flightMu.Unlock()
	f.failed = true
	c.noteLocked(f.key, note{until: time.Now().Add(FailFor).UnixNano(), failing: true})
	c.landLocked(f)
}

// Failed reports whether f ended with Fail.
func (c *Cache) Failed(f *Flight) bool {
	c.flightMu.Lock()
	defer c.flightMu.Unlock()
	return f.failed
}

// Failing reports whether a fetch of key failed within FailFor: a request
// holding a stale entry usable on error may serve it without asking the
// origin.
func (c *Cache) Failing(key []byte) bool {
	c.flightMu.Lock()
	defer c.flightMu.Unlock()
	n, ok := c.notes[b2s(key)]
	return ok && n.failing && time.Now().UnixNano() < n.until
}

// forget drops what is remembered of the fetches of e's keys: a response
// was stored.
func (c *Cache) forget(e *Entry) {
	c.flightMu.Lock()
	defer c.flightMu.Unlock()
	if len(c.notes) > 0 {
		delete(c.notes, e.key)
		delete(c.notes, e.url)
	}
}

// noteLocked remembers n for key, sweeping expired notes when there are
// maxNotes already (at most once a second) and dropping n when that frees
// no room: the notes only spare the origin and waiting, so losing one
// costs little.
func (c *Cache) noteLocked(key string, n note) {
	if _, ok := c.notes[key]; !ok && len(c.notes) >= maxNotes {
		now := time.Now().UnixNano()
		if now-c.swept < int64(time.Second) {
			return
		}
		c.swept = now
		for k, old := range c.notes {
			if old.until <= now {
				delete(c.notes, k)
			}
		}
		if len(c.notes) >= maxNotes {
			return
		}
	}
	c.notes[key] = n
}

// Wait waits until f lands or Options.CollapseWait passes, and reports
// whether it landed.
func (c *Cache) Wait(f *Flight) bool {
	select {
	case <-f.done:
		return true
	default:
	}
	t := time.NewTimer(c.opts.CollapseWait)
	defer t.Stop()
	select {
	case <-f.done:
		return true
	case <-t.C:
		return false
	}
}
