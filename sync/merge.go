package sync

import (
	"errors"
	"fmt"

	"github.com/marquee-proxy/marquee/profile"
	"github.com/tidwall/buntdb"
)

// Change is one committed local change of a profile, as passed to
// Options.OnChange.
type Change struct {
	// ID is the profile's id.
	ID string
	// Profile is the profile as committed, a shared read-only snapshot;
	// nil when the change removed it.
	Profile *profile.Profile
	// Erased is the version of the erasure that removed the profile; 0
	// when the profile was written, or removed without an erasure (Delete,
	// or an anonymous profile merged into a customer's by Link).
	Erased profile.Version
}

// SetOnChange replaces Options.OnChange; nil stops the calls. Calls
// already running may finish after it returns.
func (s *Store) SetOnChange(fn func(c Change)) {
	if fn == nil {
		s.onChange.Store(nil)
		return
	}
	s.onChange.Store(&fn)
}

// notify passes c to the OnChange function.
func (s *Store) notify(c Change) {
	if fn := s.onChange.Load(); fn != nil {
		(*fn)(c)
	}
}

// MergeTombstone records an erasure of id at version v made by another
// node: a stored profile no newer than v is removed with its alias, and
// later copies no newer than v are refused by MergeRemote. It reports
// whether anything changed, and does not call Options.OnChange.
func (s *Store) MergeTombstone(id string, v profile.Version) (bool, error) {
	if !ValidID(id) || v == 0 {
		return false, ErrInvalidID
	}
	s.clock.Observe(v)
	changed := false
	err := s.inBatch([]string{id}, false, func(b *batch) error {
		b.quiet = true
		if b.tombstone(id) >= v {
			return nil
		}
		changed = true
		if err := b.s.setRecord(b.tx, &b.delta, id, formatVersion(v), true); err != nil {
			return err
		}
		cur, err := b.peek(id)
		if err != nil {
			return err
		}
		if cur != nil && born(cur) <= v {
			b.remove(id)
			if _, err := b.tx.Delete(aliasPrefix + id); err != nil && !errors.Is(err, buntdb.ErrNotFound) {
				return err
			}
		}
		return nil
	})
	return changed, err
}

// Tombstone returns the version of id's latest erasure, 0 when it was
// never erased (or its tombstone was collected).
func (s *Store) Tombstone(id string) profile.Version {
	var v profile.Version
	_ = s.db.View(func(tx *buntdb.Tx) error {
		v = tombstoneOf(tx, id)
		return nil
	})
	return v
}

// CollectTombstones deletes the tombstones of erasures older than before
// and returns how many it deleted. Retention must outlast any partition
// and the oldest event timestamp the events API accepts, or an old copy or
// event could bring erased data back.
func (s *Store) CollectTombstones(before profile.Version) (int, error) {
	var old []string
	err := s.db.View(func(tx *buntdb.Tx) error {
		return tx.AscendLessThan(tombstoneIndex, formatVersion(before), func(k, _ string) bool {
			old = append(old, k[len(tombstonePrefix):])
			return true
		})
	})
	if err != nil {
		return 0, ErrClosed
	}
	if len(old) == 0 {
		return 0, nil
	}
	n := 0
	var d digestDelta
	err = s.db.Update(func(tx *buntdb.Tx) error {
		for _, id := range old {
			raw, err := tx.Get(tombstonePrefix + id)
			if err != nil {
				continue
			}
			if parseVersion(raw) >= before {
				continue // erased again meanwhile
			}
			if err := s.deleteRecord(tx, &d, id, true); err == nil {
				n++
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("sync: collect tombstones: %w", err)
	}
	s.live.apply(d)
	return n, nil
}

// born returns when this incarnation of the profile was first written.
func born(p *profile.Profile) profile.Version {
	if p.Born != 0 {
		return p.Born
	}
	return p.Version
}

// bornOf is the Born of p about to be written at now: kept, else the
// version it was read at, else now for a new profile.
func bornOf(p *profile.Profile, now profile.Version) profile.Version {
	switch {
	case p.Born != 0:
		return p.Born
	case p.Version != 0:
		return p.Version
	}
	return now
}
