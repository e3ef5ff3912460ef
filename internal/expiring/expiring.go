// Package expiring holds short-lived values under unguessable ids: the
// rendered offers and held page previews (a draft configuration, a
// visitor) of the campaign editor. It is not on the request path of ordinary pages.
package expiring

import (
	"crypto/rand"
	"encoding/base64"
	"sync"
	"time"
)

// IDLen is the length of an id: 128 random bits in unpadded base64url, so
// that holding the id is the only way to reach its value.
const IDLen = 22

// Store holds at most a fixed number of values, each until it expires;
// when full, the oldest is dropped to make room. It is safe for concurrent
// use.
type Store[V any] struct {
	mu    sync.Mutex
	max   int
	order []string // ids, oldest first
	m     map[string]entry[V]
}

type entry[V any] struct {
	v       V
	expires time.Time
}

// New returns a Store holding at most n values (at least one).
func New[V any](n int) *Store[V] {
	return &Store[V]{max: max(1, n), m: make(map[string]entry[V])}
}

// Put keeps v until expires and returns its new id. Values already
// expired at now are dropped first, then the oldest while the store is
// full.
func (s *Store[V]) Put(v V, expires, now time.Time) string {
	var raw [16]byte
	rand.Read(raw[:]) // never returns an error (crypto/rand, Go 1.24+)
	id := base64.RawURLEncoding.EncodeToString(raw[:])
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pruneLocked(now)
	for len(s.order) >= s.max {
		s.dropOldestLocked()
	}
	s.m[id] = entry[V]{v: v, expires: expires}
	s.order = append(s.order, id)
	return id
}

// Get returns the value kept under id, unless it has expired at now.
func (s *Store[V]) Get(id string, now time.Time) (v V, ok bool) {
	if len(id) != IDLen {
		return v, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.m[id]
	if !ok || !now.Before(e.expires) {
		return v, false
	}
	return e.v, true
}

// Len returns the number of values kept, expired ones not yet dropped
// included.
func (s *Store[V]) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}

// pruneLocked drops the values expired at now. Values are mostly put with
// one lifetime, so the expired ones are the oldest; one that outlives an
// older neighbour waits for it, which the bound on the count makes
// harmless.
func (s *Store[V]) pruneLocked(now time.Time) {
	for len(s.order) > 0 && !now.Before(s.m[s.order[0]].expires) {
		s.dropOldestLocked()
	}
}

func (s *Store[V]) dropOldestLocked() {
	delete(s.m, s.order[0])
	s.order[0] = ""
	s.order = s.order[1:]
}
