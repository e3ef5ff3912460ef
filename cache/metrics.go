package cache

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Status is how a request was answered with respect to the cache, the
// value of the optional X-Cache response field.
type Status uint8

// Statuses.
const (
	// Miss: fetched from the origin (and stored, if it may be).
	Miss Status = iota
	// Hit: served from a fresh entry, the origin not contacted.
	Hit
	// Stale: served from a stale entry, within stale-while-revalidate or,
	// the origin failing, stale-if-error.
	Stale
	// Revalidated: the origin confirmed a stored entry (304) and it was
	// served.
	Revalidated
	numStatuses
)

// String returns the X-Cache value: MISS, HIT, STALE or REVALIDATED.
func (s Status) String() string {
	switch s {
	case Miss:
		return "MISS"
	case Hit:
		return "HIT"
	case Stale:
		return "STALE"
	case Revalidated:
		return "REVALIDATED"
	default:
		return "UNKNOWN"
	}
}

var statusBytes = [numStatuses][]byte{
	Miss: []byte("MISS"), Hit: []byte("HIT"), Stale: []byte("STALE"), Revalidated: []byte("REVALIDATED"),
}

// Bytes returns String as a shared slice, for writing without allocating.
// Read-only.
func (s Status) Bytes() []byte {
	if s < numStatuses {
		return statusBytes[s]
	}
	return []byte("UNKNOWN")
}

// metrics are the cache's collectors, resolved once.
type metrics struct {
	served     [numStatuses]prometheus.Counter
	evictions  prometheus.Counter
	collapsed  prometheus.Counter
	collectors []prometheus.Collector
}

func newMetrics(c *Cache) *metrics {
	counter := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Namespace: "marquee", Subsystem: "cache", Name: name, Help: help})
	}
	m := &metrics{}
	m.served[Hit] = counter("hits_total", "Requests answered from a fresh entry without contacting the origin.")
	m.served[Miss] = counter("misses_total", "Cacheable requests (GET, HEAD) answered from the origin.")
	m.served[Stale] = counter("stale_total", "Requests answered from a stale entry (stale-while-revalidate, or stale-if-error with the origin failing).")
	m.served[Revalidated] = counter("revalidations_total", "Conditional requests sent to the origin to revalidate a stored entry, in the foreground or background.")
	m.evictions = counter("evictions_total", "Entries evicted to keep the cache within its size.")
	m.collapsed = counter("collapsed_total", "Misses that waited for another request's fetch of the same URL instead of fetching it too.")
	bytes := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "marquee", Subsystem: "cache", Name: "bytes",
		Help: "Weight of the stored entries in bytes: bodies, headers, keys and estimated plans."},
		func() float64 { return float64(c.Bytes()) })
	entries := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "marquee", Subsystem: "cache", Name: "entries",
		Help: "Stored entries, Vary markers included."},
		func() float64 { return float64(c.Len()) })
	m.collectors = []prometheus.Collector{m.served[Hit], m.served[Miss], m.served[Stale], m.served[Revalidated],
		m.evictions, m.collapsed, bytes, entries}
	return m
}

// register registers every collector, or none.
func (m *metrics) register(reg prometheus.Registerer) error {
	for i, col := range m.collectors {
		if err := reg.Register(col); err != nil {
			for _, done := range m.collectors[:i] {
				reg.Unregister(done)
			}
			var are prometheus.AlreadyRegisteredError
			if errors.As(err, &are) {
				return fmt.Errorf("%w: metrics already registered: %w", ErrOptions, err)
			}
			return fmt.Errorf("cache: register metrics: %w", err)
		}
	}
	return nil
}

// Served counts one request answered as s: hits, misses, stale answers;
// Revalidated counts a revalidation request to the origin.
func (c *Cache) Served(s Status) {
	if s < numStatuses {
		c.metrics.served[s].Inc()
	}
}
