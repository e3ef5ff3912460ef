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

	// size, when set, weighs each value; a shard then also holds at most
	// maxBytes of them (see NewSized).
	size     func(V) int64
	maxBytes int64 // per shard
}

type shard[K comparable, V any] struct {
	mu    sync.RWMutex
	m     map[K]V
	bytes int64 // sum of size over m, when the map is sized
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

// NewSized returns a map holding at most about entries values and about
// maxBytes of them as weighed by size (plus a key's share of nothing: size
// should include what the caller wants counted). A value heavier than a
// shard's share of maxBytes is not stored.
func NewSized[K comparable, V any](entries int, maxBytes int64, size func(V) int64) *Map[K, V] {
	m := newMap[K, V](entries, maphash.Comparable[K])
	m.size, m.maxBytes = size, max(1, maxBytes/shards)
	return m
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
	if m.size != nil {
		m.putSizedLocked(sh, k, v)
		return
	}
	if _, ok := sh.m[k]; !ok && len(sh.m) >= m.max {
		for old := range sh.m {
			delete(sh.m, old)
			break
		}
	}
	sh.m[k] = v
}

func (m *Map[K, V]) putSizedLocked(sh *shard[K, V], k K, v V) {
	n := m.size(v)
	if old, ok := sh.m[k]; ok {
		sh.bytes -= m.size(old)
		delete(sh.m, k)
	}
	if n > m.maxBytes {
		return
	}
	for len(sh.m) > 0 && (len(sh.m) >= m.max || sh.bytes+n > m.maxBytes) {
		for old, ov := range sh.m {
			sh.bytes -= m.size(ov)
			delete(sh.m, old)
			break
		}
	}
	sh.m[k] = v
	sh.bytes += n
}

// Bytes returns the weight of the entries of a map made by NewSized, 0 for
// other maps.
func (m *Map[K, V]) Bytes() int64 {
	var n int64
	for i := range m.shards {
		sh := &m.shards[i]
		sh.mu.RLock()
		n += sh.bytes
		sh.mu.RUnlock()
	}
	return n
}

// Delete removes k.
func (m *Map[K, V]) Delete(k K) {
	sh := m.shard(k)
	sh.mu.Lock()
	if v, ok := sh.m[k]; ok && m.size != nil {
		sh.bytes -= m.size(v)
	}
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
