package sync

import (
	"errors"
	"fmt"
	"slices"

	"github.com/marquee-proxy/marquee/profile"
	"github.com/tidwall/buntdb"
)

// Key prefixes of the record kinds in the database.
const (
	dedupPrefix     = "e:" // event id → "" with a TTL of the dedup window
	tombstonePrefix = "t:" // profile id → version of its erasure
	aliasPrefix     = "a:" // visitor id → the customer id it was linked to
)

var errPanicked = errors.New("sync: batch panicked")

// batch is one buntdb write transaction over several profiles, with the
// profiles' locks held. Profiles it changes are staged and written, each
// under a new version, when the transaction commits; the cache learns of
// them only after the commit.
type batch struct {
	s      *Store
	tx     *buntdb.Tx
	staged map[string]*profile.Profile // nil: deleted
	// orig holds, for each id edited, the profile before the batch (nil
	// for a new one), against which the write is stamped.
	orig  map[string]*profile.Profile
	order []string
	// raw are ids written already encoded (setRaw), which the cache must
	// not answer for.
	raw map[string]bool
	// invalidate makes the commit drop changed ids from the cache instead
	// of filling it, for bulk loads that would otherwise evict everything.
	invalidate bool
	// quiet keeps the commit from calling Options.OnChange: for copies
	// merged from other nodes.
	quiet bool
	// erased holds, for each removed id, the version of its erasure (0:
	// removed without one), read when the batch is written.
	erased map[string]profile.Version
	// delta is the change to the live digest, applied on commit; most
	// batches write one profile, two entries, held in deltaBuf.
	delta    digestDelta
	deltaBuf [2]deltaEntry
}

// inBatch locks the stripes of ids (in a fixed order, so batches never
// deadlock), runs fn in one write transaction and, when it commits, writes
// the staged profiles and updates the cache. fn must touch only profiles
// whose ids it was given.
func (s *Store) inBatch(ids []string, invalidate bool, fn func(b *batch) error) error {
	stripes := make([]int, 0, len(ids))
	for _, id := range ids {
		stripes = append(stripes, s.stripe(id))
	}
	slices.Sort(stripes)
	stripes = slices.Compact(stripes)
	for _, i := range stripes {
		s.locks[i].Lock()
	}
	defer func() {
		for _, i := range stripes {
			s.locks[i].Unlock()
		}
	}()
	b := &batch{s: s, staged: make(map[string]*profile.Profile), invalidate: invalidate}
	b.delta = b.deltaBuf[:0]
	var panicked any
	err := s.db.Update(func(tx *buntdb.Tx) (err error) {
		// buntdb commits a transaction whose function panics; what it
		// wrote would then be stored behind the cache's and the
		// digest's back. Rolled back, the panic goes on.
		defer func() {
			if panicked = recover(); panicked != nil {
				err = errPanicked
			}
		}()
		b.tx = tx
		if err := fn(b); err != nil {
			return err
		}
		return b.write()
	})
	if panicked != nil {
		panic(panicked)
	}
	if err != nil {
		if errors.Is(err, buntdb.ErrDatabaseClosed) || errors.Is(err, buntdb.ErrTxClosed) {
			return ErrClosed
		}
		return err
	}
	s.live.apply(b.delta)
	for _, id := range b.order {
		if invalidate {
			s.cache.remove(id)
		} else {
			s.cache.put(id, b.staged[id])
		}
	}
	if !invalidate && !b.quiet {
		for _, id := range b.order {
			s.notify(Change{ID: id, Profile: b.staged[id], Erased: b.erased[id]})
		}
	}
	return nil
}

// peek returns the current profile of id, staged or stored, read-only; nil
// when there is none or its stored record cannot be decoded (then a write
// of id in the batch replaces the record).
func (b *batch) peek(id string) (*profile.Profile, error) {
	if p, ok := b.staged[id]; ok {
		return p, nil
	}
	if !b.raw[id] {
		if p, ok := b.s.cache.get(id); ok {
			return p, nil
		}
	}
	raw, err := b.tx.Get(keyPrefix + id)
	if errors.Is(err, buntdb.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return b.s.decodeRecord(id, raw), nil
}

// edit returns a private copy of id's profile (a new one when there is
// none) that is written when the batch commits.
func (b *batch) edit(id string) (*profile.Profile, error) {
	if p, ok := b.staged[id]; ok && p != nil {
		return p, nil
	}
	old, err := b.peek(id)
	if err != nil {
		return nil, err
	}
	p := &profile.Profile{ID: id}
	if old != nil {
		p = old.Clone()
	}
	if _, ok := b.orig[id]; !ok {
		if b.orig == nil {
			b.orig = make(map[string]*profile.Profile)
		}
		b.orig[id] = old
	}
	b.stage(id, p)
	return p, nil
}

// exists reports whether id has a profile, staged or stored, without
// decoding it.
func (b *batch) exists(id string) (bool, error) {
	if p, ok := b.staged[id]; ok {
		return p != nil, nil
	}
	if !b.raw[id] {
		if p, ok := b.s.cache.get(id); ok {
			return p != nil, nil
		}
	}
	_, err := b.tx.Get(keyPrefix + id)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, buntdb.ErrNotFound):
		return false, nil
	}
	return false, err
}

// setRaw writes an already encoded profile of id, versioned by its
// encoder. Only for a batch that invalidates the cache.
func (b *batch) setRaw(id string, data []byte) error {
	if b.raw == nil {
		b.raw = make(map[string]bool)
	}
	if !b.raw[id] {
		b.raw[id] = true
		if _, ok := b.staged[id]; !ok {
			b.order = append(b.order, id)
		}
	}
	return b.s.setRecord(b.tx, &b.delta, id, string(data), false)
}

// remove stages the deletion of id's profile.
func (b *batch) remove(id string) { b.stage(id, nil) }

func (b *batch) stage(id string, p *profile.Profile) {
	if _, ok := b.staged[id]; !ok {
		b.order = append(b.order, id)
	}
	b.staged[id] = p
}

// tombstone returns the version of id's erasure, 0 when it was never
// erased.
func (b *batch) tombstone(id string) profile.Version { return tombstoneOf(b.tx, id) }

// write stores every staged profile under a new version.
func (b *batch) write() error {
	for _, id := range b.order {
		p, ok := b.staged[id]
		if !ok {
			continue // written raw
		}
		if p == nil {
			if err := b.s.deleteRecord(b.tx, &b.delta, id, false); err != nil && !errors.Is(err, buntdb.ErrNotFound) {
				return err
			}
			if v := b.tombstone(id); v != 0 {
				if b.erased == nil {
					b.erased = make(map[string]profile.Version)
				}
				b.erased[id] = v
			}
			continue
		}
		p.ID = id
		p.Born = bornOf(p, b.s.clock.Now())
		p.Version = b.s.clock.Now()
		p.Node = b.s.node
		p.Updated = p.Version.Time().UTC()
		stampWrite(b.orig[id], p, p.Version, p.Node)
		data, err := marshalProfile(p)
		if err != nil {
			return fmt.Errorf("sync: encode %q: %w", id, err)
		}
		if err := b.s.setRecord(b.tx, &b.delta, id, string(data), false); err != nil {
			return err
		}
	}
	return nil
}
