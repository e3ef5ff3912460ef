package sync

import (
	"hash/maphash"
	stdsync "sync"
)

const cacheShards = 64

// cache maps ids to decoded profile snapshots. A nil snapshot records that
// the id has no profile, so that new visitors do not reach the database on
// every request. Each shard holds at most its share of the entries and
// evicts an arbitrary one when full: cheap, and good enough for a cache in
// front of an in-memory database.
type cache struct {
	seed   maphash.Seed
	max    int
	shards [cacheShards]cacheShard
}

type cacheShard struct {
	mu stdsync.RWMutex
	m  map[string]*Profile
}

func newCache(entries int) *cache {
	c := &cache{seed: maphash.MakeSeed(), max: max(1, entries/cacheShards)}
	for i := range c.shards {
		c.shards[i].m = make(map[string]*Profile)
	}
	return c
}

func (c *cache) shard(h uint64) *cacheShard { return &c.shards[h%cacheShards] }

func (c *cache) get(id string) (*Profile, bool) {
	sh := c.shard(maphash.String(c.seed, id))
	sh.mu.RLock()
	p, ok := sh.m[id]
	sh.mu.RUnlock()
	return p, ok
}

func (c *cache) getBytes(id []byte) (*Profile, bool) {
	sh := c.shard(maphash.Bytes(c.seed, id))
	sh.mu.RLock()
	p, ok := sh.m[string(id)]
	sh.mu.RUnlock()
	return p, ok
}

func (c *cache) put(id string, p *Profile) {
	sh := c.shard(maphash.String(c.seed, id))
	sh.mu.Lock()
	if _, ok := sh.m[id]; !ok && len(sh.m) >= c.max {
		for k := range sh.m {
			delete(sh.m, k)
			break
		}
	}
	sh.m[id] = p
	sh.mu.Unlock()
}

func (c *cache) remove(id string) {
	sh := c.shard(maphash.String(c.seed, id))
	sh.mu.Lock()
	delete(sh.m, id)
	sh.mu.Unlock()
}
