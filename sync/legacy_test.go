package sync

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/marquee-proxy/marquee/profile"
)

// legacyDir holds a store file written by the release before profiles
// merged field by field (commit e2aa4c3), by writeLegacyFixture.
const legacyDir = "testdata/legacy"

// legacyNow is the clock the fixture was written at.
var legacyNow = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)

// TestWriteLegacyFixture rewrites testdata/legacy when
// MARQUEE_WRITE_LEGACY_FIXTURE is set. It was run against the release
// before stamps existed; running it again with this code would write the
// new format, so it is kept only to show how the file was made.
func TestWriteLegacyFixture(t *testing.T) {
	if os.Getenv("MARQUEE_WRITE_LEGACY_FIXTURE") == "" {
		t.Skip("set MARQUEE_WRITE_LEGACY_FIXTURE=1 to rewrite the fixture")
	}
	if err := os.RemoveAll(legacyDir); err != nil {
		t.Fatal(err)
	}
	now := legacyNow
	s, err := Open(Options{Dir: legacyDir, Node: "old1", Now: func() time.Time { return now }, Sync: SyncAlways})
	if err != nil {
		t.Fatal(err)
	}
	no := false
	if _, err := s.Update("cust-1", func(p *profile.Profile) error {
		p.Attrs = map[string]any{"tier": "gold", "age": 41.0, "vip": true}
		p.Scores = map[string]float64{"propensity": 0.42}
		p.Consent.Personalization = &no
		p.Variants = map[string]string{"exp1": "b"}
		p.Exposures = map[string]profile.Exposure{"promo": {Variant: "b", At: now.Add(-time.Hour)}}
		p.Caps = map[string][]profile.NodeDayCount{"promo": {{Day: DayIndex(now, time.UTC), Node: "old1", Count: 2}}}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	now = now.Add(time.Second)
	evs := []Event{
		{ID: "e1", Type: EventView, Customer: "cust-1", Visitor: "anon-1", Category: "books", Product: "b1", TS: now.Add(-48 * time.Hour)},
		{ID: "e2", Type: EventView, Customer: "cust-1", Category: "books", Product: "b2", TS: now.Add(-time.Hour)},
		{ID: "e3", Type: EventView, Customer: "cust-1", Category: "garden", TS: now.Add(-time.Hour)},
		{ID: "e4", Type: EventAddToCart, Customer: "cust-1", Product: "b2", Value: 12.5, Props: map[string]any{"qty": 2.0}, TS: now.Add(-30 * time.Minute)},
		{ID: "e5", Type: EventCustom, Customer: "cust-1", Props: map[string]any{"name": "newsletter"}, TS: now.Add(-20 * time.Minute)},
		{ID: "e6", Type: EventPurchase, Customer: "cust-2", Product: "b9", Value: 99, TS: now.Add(-10 * time.Minute)},
		{ID: "e7", Type: EventView, Visitor: "gone-1", Category: "toys", TS: now.Add(-5 * time.Minute)},
	}
	for i, r := range s.ApplyEvents(evs) {
		if r.Status != EventAccepted {
			t.Fatalf("event %d: %s %v", i, r.Status, r.Err)
		}
	}
	now = now.Add(time.Second)
	if err := s.ImportProfiles([]ProfileRecord{{ID: "cust-1", Purchases: []profile.Purchase{
		{Product: "b7", Value: 30, At: now.Add(-72 * time.Hour)}, {ID: "order-9", Value: 45, At: now.Add(-24 * time.Hour)}}}}); err != nil {
		t.Fatal(err)
	}
	now = now.Add(time.Second)
	if err := s.Erase("gone-1"); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(legacyDir, "profiles.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s", raw)
}

// TestLegacyStoreMigrates opens the store file written by the previous
// release: every field reads back, registers get the record's stamp, and a
// merge with a new-format copy keeps both sides' writes.
func TestLegacyStoreMigrates(t *testing.T) {
	dir := t.TempDir()
	raw, err := os.ReadFile(filepath.Join(legacyDir, "profiles.db"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "profiles.db"), raw, 0o600); err != nil {
		t.Fatal(err)
	}
	now := legacyNow.Add(time.Hour)
	s, err := Open(Options{Dir: dir, Node: "new1", Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	p, err := s.Get("cust-1")
	if err != nil || p == nil {
		t.Fatalf("cust-1: %v %v", p, err)
	}
	if p.Attrs["tier"] != "gold" || p.Attrs["age"] != 41.0 || p.Attrs["vip"] != true || p.Scores["propensity"] != 0.42 || p.Consent.Allows() {
		t.Errorf("registers: %v %v %v", p.Attrs, p.Scores, p.Consent.Personalization)
	}
	if len(p.Cart.Items) != 1 || p.Cart.Items[0].Qty != 2 || len(p.Purchases) != 2 || p.Purchases[0].ID == "" || p.Purchases[1].ID != "order-9" {
		t.Errorf("cart %+v, purchases %+v", p.Cart, p.Purchases)
	}
	if viewTotal(p) != 3 || p.Custom["newsletter"][0].Count != 1 || p.Sessions != 2 || len(p.Recent) != 2 || p.Links[0] != "anon-1" {
		t.Errorf("behaviour: views %v custom %v sessions %d recent %v links %v", p.Views, p.Custom, p.Sessions, p.Recent, p.Links)
	}
	if p.Variants["exp1"] != "b" || p.Exposures["promo"].Variant != "b" || len(p.Caps["promo"]) != 1 {
		t.Errorf("variants %v exposures %v caps %v", p.Variants, p.Exposures, p.Caps)
	}
	legacy := profile.Stamp{V: p.Version, Node: "old1"}
	for _, k := range []string{"a:tier", "s:propensity", "c:p", "k:b2", "r"} {
		if p.Stamps[k] != legacy {
			t.Errorf("stamp %s: %v, want the record's %v", k, p.Stamps[k], legacy)
		}
	}
	if s.Tombstone("gone-1") == 0 {
		t.Error("the erasure of gone-1 was lost")
	}
	// A new-format copy from another node, written later, that changed one
	// attribute and added a view.
	remote := p.Clone()
	stampWrite(p, remote, p.Version+10, "new2")
	remote.Attrs = map[string]any{"tier": "silver", "age": 41.0, "vip": true}
	remote.Views["books"] = append([]profile.DayCount(nil), remote.Views["books"]...)
	remote.Views["books"][len(remote.Views["books"])-1].Count++
	stampWrite(p, remote, p.Version+10, "new2")
	remote.Version, remote.Node = p.Version+10, "new2"
	// And a local write here meanwhile.
	if _, err := s.Update("cust-1", func(q *profile.Profile) error { q.Scores["churn"] = 0.1; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := s.MergeRemote(remote); err != nil {
		t.Fatal(err)
	}
	got, _ := s.Get("cust-1")
	if got.Attrs["tier"] != "silver" || got.Scores["churn"] != 0.1 || got.Scores["propensity"] != 0.42 || viewTotal(got) != 4 || got.Consent.Allows() {
		t.Errorf("after the merge: attrs %v scores %v views %v", got.Attrs, got.Scores, got.Views)
	}
}
