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
