package decide

import (
	"hash/maphash"
	stdsync "sync"

	msync "github.com/marquee-proxy/marquee/sync"
)

const offerShards = 32

// offerCache memoises rendered offers per (template, profile snapshot).
// Profile snapshots are immutable and every write makes a new one, so an
// entry can never be stale: a changed profile is a different key. Offer
// templates see only .Profile, so the pair decides the output. Entries are
// bounded; a full shard drops an arbitrary entry, which costs one render.
type offerCache struct {
	seed   maphash.Seed
	max    int
	shards [offerShards]offerShard
}

type offerKey struct {
	tmpl int // index into Engine.templates
	p    *msync.Profile
	day  int32 // for templates whose output depends on the date
}

type offerShard struct {
	mu stdsync.RWMutex
	m  map[offerKey][]byte
}

func newOfferCache(entries int) *offerCache {
	c := &offerCache{seed: maphash.MakeSeed(), max: max(1, entries/offerShards)}
	for i := range c.shards {
		c.shards[i].m = make(map[offerKey][]byte)
	}
	return c
}

func (c *offerCache) shard(k offerKey) *offerShard {
	return &c.shards[maphash.Comparable(c.seed, k)%offerShards]
}

func (c *offerCache) get(k offerKey) ([]byte, bool) {
	sh := c.shard(k)
	sh.mu.RLock()
	b, ok := sh.m[k]
	sh.mu.RUnlock()
	return b, ok
}

func (c *offerCache) put(k offerKey, b []byte) {
	sh := c.shard(k)
	sh.mu.Lock()
	if _, ok := sh.m[k]; !ok && len(sh.m) >= c.max {
		for old := range sh.m {
			delete(sh.m, old)
			break
		}
	}
	sh.m[k] = b
	sh.mu.Unlock()
}
