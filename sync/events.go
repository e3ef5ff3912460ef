package sync

import (
	"errors"
	"fmt"
	"time"

	"github.com/marquee-proxy/marquee/profile"
	"github.com/tidwall/buntdb"
)

// EventStatus is what became of one event.
type EventStatus uint8

// Event statuses.
const (
	// EventAccepted: the event was applied.
	EventAccepted EventStatus = iota
	// EventDuplicate: an event with the same id was applied within the
	// dedup window; this one changed nothing.
	EventDuplicate
	// EventRejected: the event failed validation, or is older than its
	// profile's erasure; Err says which field and why.
	EventRejected
	// EventFailed: the store could not apply the event; Err says why.
	EventFailed
)

// String returns the status's name in API answers.
func (s EventStatus) String() string {
	switch s {
	case EventAccepted:
		return "accepted"
	case EventDuplicate:
		return "duplicate"
	case EventRejected:
		return "rejected"
	case EventFailed:
		return "failed"
	}
	return "invalid"
}

// MarshalText encodes the status as its name.
func (s EventStatus) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// EventResult is the outcome of one event of a batch.
type EventResult struct {
	Status EventStatus
	// Err is set for EventRejected (a *FieldError) and EventFailed.
	Err error
}

// ApplyEvents validates, deduplicates and applies a batch of events in one
// write transaction, and answers per event. Valid events are applied even
// when others of the batch are rejected. An event naming both a visitor
// and a customer links them first (see Link). Events are normalised in
// place.
func (s *Store) ApplyEvents(evs []Event) []EventResult { return s.applyEvents(evs, true) }

// ApplyObserved applies events the proxy observed itself (page views): they
// need no id and are not deduplicated, since nothing retries them.
func (s *Store) ApplyObserved(evs []Event) []EventResult { return s.applyEvents(evs, false) }

func (s *Store) applyEvents(evs []Event, dedup bool) []EventResult {
	res := make([]EventResult, len(evs))
	now := s.now()
	// One catalog for the whole batch, even if a reload swaps it meanwhile.
	products := s.catalog()
	ids := make([]string, 0, 2*len(evs))
	valid := make([]int, 0, len(evs))
	for i := range evs {
		if !dedup && evs[i].ID == "" {
			evs[i].ID = "-"
		}
		if ferr := s.rules.Normalize(&evs[i], now); ferr != nil {
			res[i] = EventResult{Status: EventRejected, Err: ferr}
			continue
		}
		if p := evs[i].Product; p != "" && evs[i].Category == "" && evs[i].Type == EventView && products != nil {
			if c, _ := products.ProductCategory(p); c != "" {
				evs[i].Category = NormalizeName(c, !s.rules.KeepCase)
			}
		}
		valid = append(valid, i)
		ids = append(ids, evs[i].Target())
		if evs[i].Visitor != "" && evs[i].Customer != "" {
			ids = append(ids, evs[i].Visitor)
		}
	}
	if len(valid) == 0 {
		return res
	}
	ttl := &buntdb.SetOptions{Expires: true, TTL: s.rules.DedupWindow}
	err := s.inBatch(ids, false, func(b *batch) error {
		for _, i := range valid {
			ev := &evs[i]
			key := dedupPrefix + ev.ID
			if !dedup {
				key = ""
			} else if _, err := b.tx.Get(key); err == nil {
				res[i] = EventResult{Status: EventDuplicate}
				continue
			}
			target := ev.Target()
			// A tombstone keeps its time to the millisecond, so an event is
			// after the erasure only past the erasure's whole millisecond:
			// one written before it within that millisecond must not bring
			// the profile back.
			if tv := b.tombstone(target); tv != 0 && ev.TS.Before(tv.Time().Add(time.Millisecond)) {
				res[i] = EventResult{Status: EventRejected, Err: &FieldError{Field: "ts", Code: CodeStale, Reason: "older than the erasure of this profile; dropped"}}
				continue
			}
			if ev.Visitor != "" && ev.Customer != "" && ev.Visitor != ev.Customer {
				if err := b.link(ev.Visitor, ev.Customer); err != nil {
					return err
				}
			}
			p, err := b.edit(target)
			if err != nil {
				return err
			}
			ApplyEvent(p, ev, s.rules.Location)
			if key != "" {
				if _, _, err := b.tx.Set(key, "", ttl); err != nil {
					return err
				}
			}
			res[i] = EventResult{Status: EventAccepted}
			if ev.Product != "" && products != nil {
				if _, known := products.ProductCategory(ev.Product); !known {
					s.unknown.Add(1)
				}
			}
		}
		return nil
	})
	if err != nil {
		for _, i := range valid {
			res[i] = EventResult{Status: EventFailed, Err: err}
		}
	}
	return res
}

// ApplyEvent is ApplyEvents for one event.
func (s *Store) ApplyEvent(ev Event) EventResult {
	return s.ApplyEvents([]Event{ev})[0]
}

// Link records that visitor is the same person as customer and merges the
// visitor's anonymous profile, if it has one, into the customer's; the
// visitor's own profile is then gone, so the device starts afresh once the
// customer logs out. Linking an already linked visitor with no new
// anonymous activity writes nothing.
func (s *Store) Link(visitor, customer string) error {
	if !ValidID(visitor) || !ValidID(customer) {
		return ErrInvalidID
	}
	if visitor == customer {
		return nil
	}
	if s.linked(visitor, customer) {
		if p, err := s.Get(visitor); err == nil && p == nil {
			return nil
		}
	}
	return s.inBatch([]string{visitor, customer}, false, func(b *batch) error {
		return b.link(visitor, customer)
	})
}

// linked reports whether visitor is stored as linked to customer.
func (s *Store) linked(visitor, customer string) bool {
	got, _ := s.AliasOf(visitor)
	return got == customer
}

// AliasOf returns the customer id visitor was last linked to, or "".
func (s *Store) AliasOf(visitor string) (string, error) {
	var v string
	err := s.db.View(func(tx *buntdb.Tx) error {
		var err error
		v, err = tx.Get(aliasPrefix + visitor)
		return err
	})
	if errors.Is(err, buntdb.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("sync: alias of %q: %w", visitor, err)
	}
	return v, nil
}

// link merges visitor's profile into customer's within the batch.
func (b *batch) link(visitor, customer string) error {
	vp, err := b.peek(visitor)
	if err != nil {
		return err
	}
	// An undecodable record of the visitor reads as no profile; it goes
	// like a profile merged in, so that it does not linger.
	undecodable := false
	if _, staged := b.staged[visitor]; vp == nil && !staged {
		_, err := b.tx.Get(keyPrefix + visitor)
		undecodable = err == nil
	}
	cur, err := b.tx.Get(aliasPrefix + visitor)
	if vp == nil && !undecodable && err == nil && cur == customer {
		return nil
	}
	cp, err := b.edit(customer)
	if err != nil {
		return err
	}
	if vp != nil || undecodable {
		if vp != nil {
			MergeInto(cp, vp)
		}
		// The anonymous profile is gone for good: a tombstone, replicated
		// like an erasure, keeps other nodes' copies from bringing it back
		// by anti-entropy, so that after logout the device starts afresh
		// on every node.
		if err := b.s.setRecord(b.tx, &b.delta, visitor, formatVersion(b.s.clock.Now()), true); err != nil {
			return err
		}
		b.remove(visitor)
	}
	cp.Links = addLink(cp.Links, visitor)
	_, _, err = b.tx.Set(aliasPrefix+visitor, customer, nil)
	return err
}

// Erase forgets id: its profile, the profiles and aliases of the ids linked
// to it, and their counters. A tombstone records when, for each of them,
// so that a later replay of an older event or a stale copy from another
// node cannot bring the data back; a new event after the erasure starts a
// fresh profile.
func (s *Store) Erase(id string) error {
	if !ValidID(id) {
		return ErrInvalidID
	}
	// The ids to lock are read before locking; a link added in between
	// makes the batch start over with it.
	for range 8 {
		ids := []string{id}
		if p, err := s.Get(id); err == nil && p != nil {
			ids = append(ids, p.Links...)
		}
		v := s.clock.Now()
		err := s.inBatch(ids, false, func(b *batch) error {
			if p, err := b.peek(id); err != nil {
				return err
			} else if p != nil {
				for _, l := range p.Links {
					if !contains(ids, l) {
						return errRelock
					}
				}
			}
			for _, x := range ids {
				b.remove(x)
				if _, err := b.tx.Delete(aliasPrefix + x); err != nil && !errors.Is(err, buntdb.ErrNotFound) {
					return err
				}
				if err := b.s.setRecord(b.tx, &b.delta, x, formatVersion(v), true); err != nil {
					return err
				}
			}
			return nil
		})
		if !errors.Is(err, errRelock) {
			return err
		}
	}
	return fmt.Errorf("sync: erase %q: links kept changing", id)
}

// errRelock makes a batch that found more ids to lock start over.
var errRelock = errors.New("sync: relock")

// ErasedAt returns when id was last erased, or the zero time.
func (s *Store) ErasedAt(id string) time.Time {
	if v := s.Tombstone(id); v != 0 {
		return v.Time()
	}
	return time.Time{}
}

// MergeRemote merges a copy of a profile written by another node into
// this node's (MergeRecords), unless an erasure newer than the copy's birth
// is recorded. It reports whether anything was stored: the copy, or the
// merge of both when each held counts the other lacked.
func (s *Store) MergeRemote(p *profile.Profile) (bool, error) {
	if p == nil || !ValidID(p.ID) {
		return false, ErrInvalidID
	}
	s.clock.Observe(p.Version)
	stored := false
	err := s.inBatch([]string{p.ID}, false, func(b *batch) error {
		b.quiet = true
		if tv := b.tombstone(p.ID); tv != 0 && born(p) <= tv {
			return nil
		}
		cur, err := b.peek(p.ID)
		if err != nil {
			return err
		}
		if cur != nil {
			p = MergeRecords(cur, p)
		} else {
			p = migrated(p)
		}
		data, err := marshalProfile(p)
		if err != nil {
			return err
		}
		if raw, err := b.tx.Get(keyPrefix + p.ID); err == nil && raw == string(data) {
			return nil // this node's copy already holds everything
		}
		if err := s.setRecord(b.tx, &b.delta, p.ID, string(data), false); err != nil {
			return err
		}
		stored = true
		return nil
	})
	if err == nil && stored {
		s.cache.put(p.ID, p.Clone())
	}
	return stored, err
}
