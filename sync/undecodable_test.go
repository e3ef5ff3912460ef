package sync

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/marquee-proxy/marquee/profile"
	"github.com/tidwall/buntdb"
)

// putRawRecord stores raw as id's profile record as it is, bypassing the
// encoder, and drops id from the cache: a test hook for records that
// cannot be decoded.
func putRawRecord(t *testing.T, s *Store, id, raw string) {
	t.Helper()
	var d digestDelta
	err := s.db.Update(func(tx *buntdb.Tx) error { return s.setRecord(tx, &d, id, raw, false) })
	if err != nil {
		t.Fatal(err)
	}
	s.live.apply(d)
	s.cache.remove(id)
}

func rawRecord(s *Store, id string) (string, error) {
	var v string
	err := s.db.View(func(tx *buntdb.Tx) (err error) { v, err = tx.Get(keyPrefix + id); return err })
	return v, err
}

// An undecodable record reads as absent, is counted and logged once, and
// is replaced by events, by Update and removed by Erase; a batch with
// events about it applies all of them.
func TestUndecodableRecord(t *testing.T) {
	var logs bytes.Buffer
	now := t0
	s, err := Open(Options{Node: "n1", Now: func() time.Time { return now }, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const corrupt = `{"attrs":{"tier":`
	for _, id := range []string{"bad-ev", "bad-put", "bad-del"} {
		putRawRecord(t, s, id, corrupt)
	}

	for range 2 {
		p, err := s.Get("bad-ev")
		if err != nil || p != nil {
			t.Fatalf("Get: got %v, %v; want no profile and no error", p, err)
		}
		s.cache.remove("bad-ev")
	}
	if p, err := s.GetBytes([]byte("bad-put")); err != nil || p != nil {
		t.Fatalf("GetBytes: got %v, %v", p, err)
	}
	if n := s.Undecodable(); n != 3 {
		t.Errorf("Undecodable: got %d, want 3", n)
	}
	if n := strings.Count(logs.String(), "id=bad-ev"); n != 1 {
		t.Errorf("logged %d times for bad-ev, want once:\n%s", n, logs.String())
	}
	s.cache.remove("bad-ev")

	res := s.ApplyEvents([]Event{view("e1", "good", "shoes", now), view("e2", "bad-ev", "hats", now)})
	for i, r := range res {
		if r.Status != EventAccepted {
			t.Fatalf("event %d: %v %v", i, r.Status, r.Err)
		}
	}
	for _, id := range []string{"good", "bad-ev"} {
		p, err := s.Get(id)
		if err != nil || p == nil || len(p.Views) != 1 {
			t.Fatalf("%s after events: %+v, %v", id, p, err)
		}
	}
	s.cache.remove("bad-ev")
	if p, err := s.Get("bad-ev"); err != nil || p == nil || p.Views["hats"] == nil {
		t.Fatalf("bad-ev from the database: %+v, %v", p, err)
	}

	if _, err := s.Update("bad-put", func(p *profile.Profile) error {
		p.Attrs = map[string]any{"tier": "gold"}
		return nil
	}); err != nil {
		t.Fatalf("Update: %v", err)
	}
	s.cache.remove("bad-put")
	if p, err := s.Get("bad-put"); err != nil || p == nil || p.Attrs["tier"] != "gold" {
		t.Fatalf("bad-put after Update: %+v, %v", p, err)
	}

	if err := s.Erase("bad-del"); err != nil {
		t.Fatalf("Erase: %v", err)
	}
	if _, err := rawRecord(s, "bad-del"); !errors.Is(err, buntdb.ErrNotFound) {
		t.Fatalf("record after Erase: %v, want gone", err)
	}
}

// Linking a visitor whose record is undecodable removes the record, as it
// would a profile merged into the customer's.
func TestLinkUndecodableVisitor(t *testing.T) {
	now := t0
	s := openAt(t, t.TempDir(), &now)
	putRawRecord(t, s, "bad-vis", `{"views":`)
	if err := s.Link("bad-vis", "cust"); err != nil {
		t.Fatalf("Link: %v", err)
	}
	if _, err := rawRecord(s, "bad-vis"); !errors.Is(err, buntdb.ErrNotFound) {
		t.Errorf("visitor record after Link: %v, want gone", err)
	}
	if p, err := s.Get("cust"); err != nil || p == nil || len(p.Links) != 1 || p.Links[0] != "bad-vis" {
		t.Errorf("customer after Link: %+v, %v", p, err)
	}
}
