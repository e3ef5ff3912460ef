package sync

import (
	"errors"
	"testing"
	"time"

	"github.com/marquee-proxy/marquee/profile"
)

var t0 = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)

func openAt(t *testing.T, dir string, now *time.Time) *Store {
	t.Helper()
	s, err := Open(Options{Dir: dir, Node: "n1", Now: func() time.Time { return *now }})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func view(id, visitor, category string, ts time.Time) Event {
	return Event{ID: id, Type: EventView, Visitor: visitor, Category: category, TS: ts}
}

// A max_past reaching back beyond 1970 does not let absurd times through.
func TestNormalizeAbsurdTime(t *testing.T) {
	rules := EventRules{MaxPast: 290 * 365 * 24 * time.Hour}
	for _, ts := range []time.Time{time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(1, 1, 1, 0, 0, 1, 0, time.UTC)} {
		ev := view("e1", "v1", "x", ts)
		if err := rules.Normalize(&ev, t0); err == nil || err.Field != "ts" {
			t.Errorf("%s: got %v, want an error on ts", ts, err)
		}
	}
}

func TestNormalize(t *testing.T) {
	now := t0
	tests := []struct {
		name  string
		ev    Event
		field string
	}{
		{"ok", view("e1", "v1", "Electronics ", now), ""},
		{"no id", view("", "v1", "x", now), "id"},
		{"no type", Event{ID: "e", Visitor: "v"}, "type"},
		{"no person", view("e1", "", "x", now), "visitor"},
		{"bad visitor", view("e1", "v 1", "x", now), "visitor"},
		{"future", view("e1", "v1", "x", now.Add(time.Hour)), "ts"},
		{"past", view("e1", "v1", "x", now.AddDate(0, -2, 0)), "ts"},
		{"view needs category", Event{ID: "e", Type: EventView, Visitor: "v"}, "category"},
		{"cart needs product", Event{ID: "e", Type: EventAddToCart, Visitor: "v"}, "product"},
		{"negative value", Event{ID: "e", Type: EventPurchase, Visitor: "v", Value: -1}, "value"},
		{"bad currency", Event{ID: "e", Type: EventPurchase, Visitor: "v", Currency: "euro"}, "currency"},
		{"custom needs name", Event{ID: "e", Type: EventCustom, Visitor: "v"}, "props.name"},
		{"bad prop", Event{ID: "e", Type: EventCustom, Visitor: "v", Props: map[string]any{"name": "x", "o": map[string]any{}}}, "props.o"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := tt.ev
			err := EventRules{}.Normalize(&ev, now)
			got := ""
			if err != nil {
				got = err.Field
			}
			if got != tt.field {
				t.Fatalf("field: got %q, want %q (%v)", got, tt.field, err)
			}
			if tt.field == "" && ev.Category != "electronics" {
				t.Errorf("category: got %q, want %q", ev.Category, "electronics")
			}
		})
	}
}

func TestApplyEventsBucketsDedupPartial(t *testing.T) {
	now := t0
	s := openAt(t, "", &now)
	evs := []Event{
		view("e1", "v1", "Electronics", now),
		view("e2", "v1", "electronics ", now.Add(-48*time.Hour)), // out of order, two days back
		view("e1", "v1", "electronics", now),                     // duplicate within the batch
		view("", "v1", "electronics", now),                       // rejected
		view("e3", "v1", "books", now.Add(-24*time.Hour)),
	}
	res := s.ApplyEvents(evs)
	want := []EventStatus{EventAccepted, EventAccepted, EventDuplicate, EventRejected, EventAccepted}
	for i, r := range res {
		if r.Status != want[i] {
			t.Errorf("event %d: got %s, want %s (%v)", i, r.Status, want[i], r.Err)
		}
	}
	p, _ := s.Get("v1")
	today := DayIndex(now, time.UTC)
	if got := p.Views["electronics"]; len(got) != 2 || got[0] != (profile.DayCount{Day: today - 2, Count: 1}) || got[1] != (profile.DayCount{Day: today, Count: 1}) {
		t.Errorf("electronics buckets: got %v", got)
	}
	// A replay of the batch, e.g. a retry, changes nothing.
	for i, r := range s.ApplyEvents([]Event{view("e1", "v1", "electronics", now), view("e2", "v1", "electronics", now)}) {
		if r.Status != EventDuplicate {
			t.Errorf("replay %d: got %s, want duplicate", i, r.Status)
		}
	}
	if p2, _ := s.Get("v1"); p2.Version != p.Version {
		t.Error("a replayed batch wrote a new version")
	}
}

func TestCartAndPurchase(t *testing.T) {
	now := t0
	s := openAt(t, "", &now)
	s.ApplyEvents([]Event{
		{ID: "a1", Type: EventAddToCart, Visitor: "v", Product: "P1", Value: 10},
		{ID: "a2", Type: EventAddToCart, Visitor: "v", Product: "p1", Value: 10},
		{ID: "a3", Type: EventAddToCart, Visitor: "v", Product: "p2", Value: 5},
		{ID: "r1", Type: EventRemoveFromCart, Visitor: "v", Product: "p2"},
	})
	p, _ := s.Get("v")
	if p.Cart.Count() != 2 || p.Cart.Value() != 20 {
		t.Fatalf("cart: got %+v", p.Cart)
	}
	now = now.Add(time.Minute)
	s.ApplyEvent(Event{ID: "o1", Type: EventPurchase, Visitor: "v", Value: 20, Currency: "EUR"})
	p, _ = s.Get("v")
	if len(p.Purchases) != 1 || p.Cart.Count() != 0 {
		t.Errorf("after purchase: purchases %v, cart %+v", p.Purchases, p.Cart)
	}
}

func TestEraseSurvivesReplay(t *testing.T) {
	dir := t.TempDir()
	now := t0
	s := openAt(t, dir, &now)
	s.ApplyEvents([]Event{view("e1", "v1", "electronics", now.Add(-time.Hour)), {ID: "x", Type: EventView, Visitor: "v2", Customer: "c1", Category: "books", TS: now}})
	if err := s.Erase("c1"); err != nil {
		t.Fatal(err)
	}
	if p, _ := s.Get("c1"); p != nil {
		t.Fatalf("erased profile still there: %+v", p)
	}
	now = now.Add(time.Minute)
	// An old event under a new id is dropped.
	old := Event{ID: "replayed-under-new-id", Type: EventView, Customer: "c1", Category: "books", TS: t0.Add(-time.Minute)}
	if r := s.ApplyEvent(old); r.Status != EventRejected {
		t.Errorf("old event after erasure: got %s, want rejected", r.Status)
	}
	// The linked visitor is erased too.
	if p, _ := s.Get("v2"); p != nil {
		t.Errorf("linked visitor survived erasure: %+v", p)
	}
	// A stale copy from another node is refused.
	if ok, _ := s.MergeRemote(&profile.Profile{ID: "c1", Version: profile.VersionAt(t0)}); ok {
		t.Error("stale remote copy resurrected an erased profile")
	}
	// A new event after the erasure starts afresh; survives a restart.
	if r := s.ApplyEvent(Event{ID: "fresh", Type: EventView, Customer: "c1", Category: "garden", TS: now}); r.Status != EventAccepted {
		t.Fatalf("fresh event: %s %v", r.Status, r.Err)
	}
	s.Close()
	s = openAt(t, dir, &now)
	p, _ := s.Get("c1")
	if p == nil || len(p.Views) != 1 || p.Views["garden"] == nil {
		t.Errorf("after restart: got %+v, want only the fresh view", p)
	}
	if r := s.ApplyEvent(old); r.Status != EventRejected {
		t.Errorf("old event after restart: got %s, want rejected", r.Status)
	}
}

func TestLinkMergesDevices(t *testing.T) {
	dir := t.TempDir()
	now := t0
	s := openAt(t, dir, &now)
	s.ApplyEvents([]Event{view("d1a", "dev1", "electronics", now), view("d1b", "dev1", "electronics", now)})
	s.ApplyEvents([]Event{view("d2a", "dev2", "electronics", now)})
	if _, err := s.Update("dev2", func(p *profile.Profile) error { p.Attrs = map[string]any{"tier": "gold"}; return nil }); err != nil {
		t.Fatal(err)
	}
	for _, dev := range []string{"dev1", "dev2"} {
		if err := s.Link(dev, "cust"); err != nil {
			t.Fatal(err)
		}
	}
	c, _ := s.Get("cust")
	if c == nil || c.Views["electronics"][0].Count != 3 || c.Attrs["tier"] != "gold" || len(c.Links) != 2 {
		t.Fatalf("customer after two devices: %+v", c)
	}
	if p, _ := s.Get("dev1"); p != nil {
		t.Error("device profile kept after merge: the device would show the customer's data after logout")
	}
	// The merged-away profile leaves a tombstone, so that a stale copy from
	// another node cannot bring it back.
	if s.ErasedAt("dev1").IsZero() {
		t.Error("no tombstone for the merged device profile")
	}
	stale := &profile.Profile{ID: "dev1", Attrs: map[string]any{"tier": "gold"}, Version: profile.VersionAt(t0.Add(-time.Hour)), Node: "other"}
	if ok, _ := s.MergeRemote(stale); ok {
		t.Error("a stale remote copy of the merged device profile was accepted")
	}
	s.Close()
	s = openAt(t, dir, &now)
	if a, _ := s.AliasOf("dev2"); a != "cust" {
		t.Errorf("alias after restart: got %q, want %q", a, "cust")
	}
}

func TestLockedDir(t *testing.T) {
	dir := t.TempDir()
	now := t0
	openAt(t, dir, &now)
	if _, err := Open(Options{Dir: dir}); !errors.Is(err, ErrLocked) {
		t.Errorf("second Open: got %v, want ErrLocked", err)
	}
}

// testProducts is a catalog for the store's tests: product → category.
type testProducts map[string]string

func (x testProducts) ProductCategory(p string) (string, bool) {
	c, ok := x[p]
	return c, ok
}

func TestProducts(t *testing.T) {
	now := t0
	s, err := Open(Options{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var current Products = testProducts{"aero-earbuds": "Electronics ", "mug": ""}
	s.SetProducts(func() Products { return current })
	res := s.ApplyEvents([]Event{
		{ID: "1", Type: EventView, Visitor: "v", Product: "AERO-EARBUDS"},
		{ID: "2", Type: EventView, Visitor: "v", Product: "ghost", Category: "x"},
		{ID: "3", Type: EventView, Visitor: "v", Product: "mug", Category: "y"},
	})
	for i, r := range res {
		if r.Status != EventAccepted {
			t.Errorf("event %d: %s %v", i, r.Status, r.Err)
		}
	}
	p, _ := s.Get("v")
	if p.Views["electronics"] == nil {
		t.Errorf("product view without a category did not take the catalog's, normalised: %v", p.Views)
	}
	if got := s.UnknownProducts(); got != 1 {
		t.Errorf("unknown products: got %d, want 1", got)
	}

	// The store reads the catalog in force at each batch.
	current = testProducts{"aero-earbuds": "audio"}
	s.ApplyEvents([]Event{
		{ID: "4", Type: EventView, Visitor: "w", Product: "aero-earbuds"},
		{ID: "5", Type: EventView, Visitor: "w", Product: "mug", Category: "y"},
	})
	if p, _ := s.Get("w"); p.Views["audio"] == nil {
		t.Errorf("view after the catalog changed: want audio, got %v", p.Views)
	}
	if got := s.UnknownProducts(); got != 2 {
		t.Errorf("unknown products after the catalog changed: got %d, want 2", got)
	}

	// No catalog: nothing is filled in and nothing is counted.
	current = nil
	s.ApplyEvents([]Event{{ID: "6", Type: EventView, Visitor: "x", Product: "ghost"}})
	if p, _ := s.Get("x"); len(p.Views) != 0 {
		t.Errorf("view without a catalog took a category: %v", p.Views)
	}
	s.SetProducts(nil)
	s.ApplyEvents([]Event{{ID: "7", Type: EventView, Visitor: "x", Product: "ghost", Category: "z"}})
	if got := s.UnknownProducts(); got != 2 {
		t.Errorf("unknown products without a catalog: got %d, want 2", got)
	}
}

func TestMergeIntoKeepsDecisionState(t *testing.T) {
	anon := &profile.Profile{ID: "v", Updated: t0,
		Variants:  map[string]string{"exp1": "b", "exp2": "a"},
		Exposures: map[string]profile.Exposure{"c1": {Variant: "b", At: t0}},
		Caps:      map[string][]profile.NodeDayCount{"c1": {{Day: 1, Node: "n1", Count: 2}}},
	}
	cust := &profile.Profile{ID: "c", Updated: t0.Add(-time.Hour),
		Variants:  map[string]string{"exp1": "a"},
		Exposures: map[string]profile.Exposure{"c1": {Variant: "a", At: t0.Add(-time.Hour)}},
		Caps:      map[string][]profile.NodeDayCount{"c1": {{Day: 1, Node: "n1", Count: 1}, {Day: 1, Node: "n2", Count: 1}}},
	}
	MergeInto(cust, anon)
	if cust.Variants["exp1"] != "a" || cust.Variants["exp2"] != "a" {
		t.Errorf("variants: %v", cust.Variants)
	}
	if cust.Exposures["c1"].Variant != "b" {
		t.Errorf("exposures: %v", cust.Exposures)
	}
	total := int32(0)
	for _, c := range cust.Caps["c1"] {
		total += c.Count
	}
	if total != 4 || len(cust.Caps["c1"]) != 2 {
		t.Errorf("caps: %v", cust.Caps)
	}
	if len(cust.Links) != 1 || cust.Links[0] != "v" {
		t.Errorf("links: %v", cust.Links)
	}
}
