package sync

import (
	stdsync "sync"
	"time"
)

// Version is a hybrid logical clock reading: milliseconds since the Unix
// epoch in the upper 48 bits, a counter in the lower 16. It orders writes
// across nodes whose clocks drift, while staying close to wall time.
type Version uint64

const logicalBits = 16

// Time returns the wall-clock part of v.
func (v Version) Time() time.Time { return time.UnixMilli(int64(v >> logicalBits)) }

// Clock issues increasing Versions. It is safe for concurrent use.
type Clock struct {
	mu   stdsync.Mutex
	last Version
	now  func() time.Time
}

// NewClock returns a Clock reading now, or time.Now when now is nil.
func NewClock(now func() time.Time) *Clock {
	if now == nil {
		now = time.Now
	}
	return &Clock{now: now}
}

// Now returns a Version greater than every Version this clock has issued
// or observed.
func (c *Clock) Now() Version {
	wall := Version(c.now().UnixMilli()) << logicalBits
	c.mu.Lock()
	defer c.mu.Unlock()
	if wall > c.last {
		c.last = wall
	} else {
		c.last++
	}
	return c.last
}

// Observe moves the clock past a Version seen from another node, so that
// this node's next write orders after it.
func (c *Clock) Observe(v Version) {
	c.mu.Lock()
	if v > c.last {
		c.last = v
	}
	c.mu.Unlock()
}
