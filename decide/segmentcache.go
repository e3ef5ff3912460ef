package decide

import (
	"github.com/marquee-proxy/marquee/internal/boundedmap"
	"github.com/marquee-proxy/marquee/profile"
)

const segmentCacheEntries = 1 << 16

// segmentCache remembers the results of stable segments (those that read
// nothing time-dependent) per profile snapshot, so a page view does not
// re-evaluate what cannot have changed. Snapshots are immutable and an
// Engine is one configuration version, so the pair (engine, snapshot) fixes
// the answer. Results are the segment states of a Decision.
type segmentCache struct {
	m *boundedmap.Map[*profile.Profile, []uint8]
}

func newSegmentCache(entries int) *segmentCache {
	return &segmentCache{boundedmap.New[*profile.Profile, []uint8](entries)}
}

// load copies the remembered states for p into dst.
func (c *segmentCache) load(p *profile.Profile, dst []uint8) bool {
	src, ok := c.m.Get(p)
	if ok {
		copy(dst, src)
	}
	return ok
}

// store remembers the stable states of src for p, once per snapshot.
func (c *segmentCache) store(p *profile.Profile, src []uint8, segs []*segment) {
	if _, known := c.m.Get(p); known {
		return
	}
	keep := make([]uint8, len(src))
	for i, s := range segs {
		if s.stable && (src[i] == segTrue || src[i] == segFalse) {
			keep[i] = src[i]
		}
	}
	c.m.PutIfAbsent(p, keep)
}
