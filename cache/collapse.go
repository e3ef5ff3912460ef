package cache

import (
	"time"
)

// Collapsed forwarding. Concurrent misses for one URL make one origin
// request: the first becomes the flight's leader and fetches, the others
// wait for it and then look the URL up again. A waiter gives up after
// Options.CollapseWait and fetches itself, so one slow fetch holds no
// request longer than that; and a waiter that finds nothing stored after
// the flight (the response was not storable, or varied) fetches itself
// without joining another flight.

// Flight is one origin fetch other requests may wait for.
type Flight struct {
	key  string
	done chan struct{}
}

// Join returns the flight fetching primary key key and whether the caller
// leads it. A leader must call Land when its response is stored or known
// not to be; the others call Wait.
func (c *Cache) Join(key []byte) (f *Flight, leader bool) {
	c.flightMu.Lock()
	defer c.flightMu.Unlock()
	if f := c.flights[b2s(key)]; f != nil {
		c.metrics.collapsed.Inc()
		return f, false
	}
	f = &Flight{key: string(key), done: make(chan struct{})}
	c.flights[f.key] = f
	return f, true
}

// Lead starts a flight for key and returns it when none is under way, for
// a background revalidation that nobody waits for; otherwise nil.
func (c *Cache) Lead(key []byte) *Flight {
	c.flightMu.Lock()
	defer c.flightMu.Unlock()
	if c.flights[b2s(key)] != nil {
		return nil
	}
	f := &Flight{key: string(key), done: make(chan struct{})}
	c.flights[f.key] = f
	return f
}

// Land ends the flight f, waking its waiters. It is idempotent.
func (c *Cache) Land(f *Flight) {
	c.flightMu.Lock()
	defer c.flightMu.Unlock()
	if c.flights[f.key] == f {
		delete(c.flights, f.key)
		close(f.done)
	}
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
