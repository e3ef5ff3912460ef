// Package boundedmap is a concurrent map with a bound on its entries, for
// the caches on marquee's request path: decoded profiles, rendered offers,
// segment results.
//
// A full shard drops an arbitrary entry to make room. That is not LRU, and
// need not be: every entry can be rebuilt, the bound only caps memory, and
// a random drop costs no bookkeeping on reads, which are most operations.
package boundedmap

import (
	"hash/maphash"
	"sync"
)

const shards = 64

// Map maps keys to values, holding at most about its bound. It is safe for
// concurrent use; reads take a shard's read lock only.
type Map[K comparable, V any] struct {
	seed   maphash.Seed
	hash   func(maphash.Seed, K) uint64
	max    int // per shard
	shards [shards]shard[K, V]
}

type shard[K comparable, V any] struct {
	mu sync.RWMutex
	m  map[K]V
}

// New returns a map holding at most about entries values.
func New[K comparable, V any](entries int) *Map[K, V] {
	return newMap[K, V](entries, maphash.Comparable[K])
}

// NewString returns a string-keyed map that can also be read with a byte
// slice key without converting it (GetBytes).
func NewString[V any](entries int) *Map[string, V] {
	return newMap[string, V](entries, maphash.String)
}

func newMap[K comparable, V any](entries int, hash func(maphash.Seed, K) uint64) *Map[K, V] {
	m := &Map[K, V]{seed: maphash.MakeSeed(), hash: hash, max: max(1, entries/shards)}
	for i := range m.shards {
		m.shards[i].m = make(map[K]V)
	}
	return m
}

func (m *Map[K, V]) shard(k K) *shard[K, V] { return &m.shards[m.hash(m.seed, k)%shards] }

// Get returns the value for k.
func (m *Map[K, V]) Get(k K) (V, bool) {
	sh := m.shard(k)
	sh.mu.RLock()
	v, ok := sh.m[k]
	sh.mu.RUnlock()
	return v, ok
}

// GetBytes is Get for a string-keyed map made by NewString, with the key
// held in a byte slice: it does not allocate, and does not retain k.
func GetBytes[V any](m *Map[string, V], k []byte) (V, bool) {
	sh := &m.shards[maphash.Bytes(m.seed, k)%shards]
	sh.mu.RLock()
	v, ok := sh.m[string(k)]
	sh.mu.RUnlock()
	return v, ok
}

// Put stores v under k, dropping an arbitrary entry of k's shard when it
// is full.
func (m *Map[K, V]) Put(k K, v V) {
	sh := m.shard(k)
	sh.mu.Lock()
	m.putLocked(sh, k, v)
	sh.mu.Unlock()
}

// PutIfAbsent stores v under k unless k is present, and reports whether it
// stored.
func (m *Map[K, V]) PutIfAbsent(k K, v V) bool {
	sh := m.shard(k)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if _, ok := sh.m[k]; ok {
		return false
	}
	m.putLocked(sh, k, v)
	return true
}

func (m *Map[K, V]) putLocked(sh *shard[K, V], k K, v V) {
	if _, ok := sh.m[k]; !ok && len(sh.m) >= m.max {
		for old := range sh.m {
			delete(sh.m, old)
			break
		}
	}
	sh.m[k] = v
}

// Delete removes k.
func (m *Map[K, V]) Delete(k K) {
	sh := m.shard(k)
	sh.mu.Lock()
	delete(sh.m, k)
	sh.mu.Unlock()
}

// Len returns the number of entries.
func (m *Map[K, V]) Len() int {
	n := 0
	for i := range m.shards {
		sh := &m.shards[i]
		sh.mu.RLock()
		n += len(sh.m)
		sh.mu.RUnlock()
	}
	return n
}
