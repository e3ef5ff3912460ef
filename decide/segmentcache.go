package decide

import (
	"hash/maphash"
	stdsync "sync"

	msync "github.com/marquee-proxy/marquee/sync"
)

const (
	segmentShards       = 32
	segmentCacheEntries = 1 << 16
)

// segmentCache remembers the results of stable segments (those that read
// nothing time-dependent) per profile snapshot, so a page view does not
// re-evaluate what cannot have changed. Snapshots are immutable and an
// Engine is one configuration version, so the pair (engine, snapshot) fixes
// the answer. Results are the segment states of a Decision.
type segmentCache struct {
	seed   maphash.Seed
	max    int
	shards [segmentShards]struct {
		mu stdsync.RWMutex
		m  map[*msync.Profile][]uint8
	}
}

func newSegmentCache(entries int) *segmentCache {
	c := &segmentCache{seed: maphash.MakeSeed(), max: max(1, entries/segmentShards)}
	for i := range c.shards {
		c.shards[i].m = make(map[*msync.Profile][]uint8)
	}
	return c
}

func (c *segmentCache) shard(p *msync.Profile) int {
	return int(maphash.Comparable(c.seed, p) % segmentShards)
}

// load copies the remembered states for p into dst.
func (c *segmentCache) load(p *msync.Profile, dst []uint8) bool {
	sh := &c.shards[c.shard(p)]
	sh.mu.RLock()
	src, ok := sh.m[p]
	if ok {
		copy(dst, src)
	}
	sh.mu.RUnlock()
	return ok
}

// store remembers the stable states of src for p, once per snapshot.
func (c *segmentCache) store(p *msync.Profile, src []uint8, segs []*segment) {
	sh := &c.shards[c.shard(p)]
	sh.mu.RLock()
	_, known := sh.m[p]
	sh.mu.RUnlock()
	if known {
		return
	}
	keep := make([]uint8, len(src))
	for i, s := range segs {
		if s.stable && (src[i] == segTrue || src[i] == segFalse) {
			keep[i] = src[i]
		}
	}
	sh.mu.Lock()
	if _, ok := sh.m[p]; !ok && len(sh.m) >= c.max {
		for k := range sh.m {
			delete(sh.m, k)
			break
		}
	}
	sh.m[p] = keep
	sh.mu.Unlock()
}
