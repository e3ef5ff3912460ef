package sync

import (
	stdsync "sync"
	"time"

	"github.com/marquee-proxy/marquee/profile"
)

// Clock issues increasing Versions. It is safe for concurrent use.
type Clock struct {
	mu   stdsync.Mutex
	last profile.Version
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
func (c *Clock) Now() profile.Version {
	wall := profile.VersionAt(c.now())
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
func (c *Clock) Observe(v profile.Version) {
	c.mu.Lock()
	if v > c.last {
		c.last = v
	}
	c.mu.Unlock()
}
