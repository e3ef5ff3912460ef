package sync

import (
	"fmt"
	"testing"
	"time"

	"github.com/marquee-proxy/marquee/profile"
)

// storeAt opens an in-memory store of node whose clock reads *now.
func storeAt(t *testing.T, node string, now *time.Time) *Store {
	t.Helper()
	return mustOpen(t, Options{Node: node, Now: func() time.Time { return *now }})
}

// permutations returns every order of n items.
func permutations(n int) [][]int {
	if n == 0 {
		return [][]int{{}}
	}
	var out [][]int
	for _, p := range permutations(n - 1) {
		for i := 0; i <= len(p); i++ {
			q := append(append(append([]int(nil), p[:i]...), n-1), p[i:]...)
			out = append(out, q)
		}
	}
	return out
}

// TestConcurrentWritesConverge is the reported loss: node B applies a
// stream of view events for a visitor while node A applies an operator
// PATCH (an attribute set, one removed) with a consent opt-out, and node C
// a purchase. B's writes carry the latest versions. Whatever order the
// copies arrive in, every node ends with the PATCH, the opt-out, the
// purchase and every view.
func TestConcurrentWritesConverge(t *testing.T) {
	nowA, nowB, nowC := t0, t0, t0
	a, b, c := storeAt(t, "a", &nowA), storeAt(t, "b", &nowB), storeAt(t, "c", &nowC)
	stores := []*Store{a, b, c}
	const id = "cust-1"

	// The profile exists everywhere before the concurrent writes.
	base, err := a.Update(id, func(p *profile.Profile) error {
		p.Attrs = map[string]any{"old": "x", "city": "Oslo"}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range stores[1:] {
		if _, err := s.MergeRemote(base.Clone()); err != nil {
			t.Fatal(err)
		}
	}

	// A: the operator's PATCH, at t0+1s.
	nowA = t0.Add(time.Second)
	no := false
	if _, err := a.Update(id, func(p *profile.Profile) error {
		p.Attrs["tier"] = "gold"
		delete(p.Attrs, "old")
		p.Consent.Personalization = &no
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// C: a purchase, at t0+1.5s.
	nowC = t0.Add(1500 * time.Millisecond)
	if r := c.ApplyEvent(Event{ID: "order-1", Type: EventPurchase, Customer: id, Product: "p1", Value: 80, TS: nowC}); r.Status != EventAccepted {
		t.Fatal(r.Status, r.Err)
	}
	// B: a stream of views, the last at t0+3s.
	const views = 20
	for i := range views {
		nowB = t0.Add(2*time.Second + time.Duration(i)*50*time.Millisecond)
		if r := b.ApplyEvent(view(fmt.Sprintf("v%d", i), id, "books", nowB)); r.Status != EventAccepted {
			t.Fatal(r.Status, r.Err)
		}
	}
	var recs []*profile.Profile
	for _, s := range stores {
		p, err := s.Get(id)
		if err != nil || p == nil {
			t.Fatal(p, err)
		}
		recs = append(recs, p)
	}

	check := func(t *testing.T, name string, p *profile.Profile) {
		t.Helper()
		if p == nil {
			t.Fatalf("%s: no profile", name)
		}
		if p.Attrs["tier"] != "gold" || p.Attrs["city"] != "Oslo" {
			t.Errorf("%s: attrs %v, want the PATCH's tier gold and city Oslo", name, p.Attrs)
		}
		if _, ok := p.Attrs["old"]; ok {
			t.Errorf("%s: attrs %v, want old removed by the PATCH", name, p.Attrs)
		}
		if p.Consent.Allows() {
			t.Errorf("%s: consent %v, want the opt-out", name, p.Consent.Personalization)
		}
		if len(p.Purchases) != 1 || p.Purchases[0].ID != "order-1" {
			t.Errorf("%s: purchases %+v, want order-1", name, p.Purchases)
		}
		n := int32(0)
		for _, d := range p.Views["books"] {
			n += d.Count
		}
		if n != views {
			t.Errorf("%s: %d books views, want %d", name, n, views)
		}
	}

	// Every order of delivery into a fresh node, with a duplicate.
	for _, order := range permutations(len(recs)) {
		now := t0.Add(time.Hour)
		d := storeAt(t, "d", &now)
		for _, i := range append(order, order[0]) {
			if _, err := d.MergeRemote(recs[i].Clone()); err != nil {
				t.Fatal(err)
			}
		}
		p, _ := d.Get(id)
		check(t, fmt.Sprint("delivered in order ", order), p)
	}
	// The three nodes exchange their copies until nothing changes.
	for round := 0; round < 3; round++ {
		for i, from := range stores {
			p, _ := from.Get(id)
			for j, to := range stores {
				if i != j {
					if _, err := to.MergeRemote(p.Clone()); err != nil {
						t.Fatal(err)
					}
				}
			}
		}
	}
	var first []byte
	for i, s := range stores {
		p, _ := s.Get(id)
		check(t, "node "+s.node, p)
		data, _ := marshalProfile(p)
		if i == 0 {
			first = data
		} else if string(data) != string(first) {
			t.Errorf("node %s holds\n%s\nnode a holds\n%s", s.node, data, first)
		}
	}
}
