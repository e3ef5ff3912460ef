package sync

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/marquee-proxy/marquee/profile"
)

// ack is an acknowledged write to one register: its value (nil for a
// removal) and its stamp.
type ack struct {
	val   any
	stamp profile.Stamp
	born  profile.Version
}

// registers reads the registers of p the way a reader sees them.
func registers(p *profile.Profile) map[string]any {
	out := map[string]any{}
	if p == nil {
		return out
	}
	for k, v := range p.Attrs {
		out[stampAttr+k] = v
	}
	for k, v := range p.Scores {
		out[stampScore+k] = v
	}
	if c := p.Consent.Personalization; c != nil {
		out[stampConsent] = *c
	}
	for _, it := range p.Cart.Items {
		out[stampCart+it.Product] = it.Qty
	}
	return out
}

func viewTotal(p *profile.Profile) int32 {
	if p == nil {
		return 0
	}
	n := int32(0)
	for _, list := range p.Views {
		for _, c := range list {
			n += c.Count
		}
	}
	return n
}

// TestCRDTRandomHistories generates random histories of writes on 3 to 5
// replicas whose clocks may tie, delivers every replica's copies and
// erasures to the others in random order with duplicates, and checks that
// all replicas end with the same bytes and digest, and that every
// acknowledged write not superseded by a later-stamped write to the same
// register, or by a later erasure, is there.
func TestCRDTRandomHistories(t *testing.T) {
	deadline := time.Now().Add(4 * time.Second)
	runs := 0
	for seed := uint64(1); seed <= 300 && time.Now().Before(deadline); seed++ {
		runs++
		if !t.Run(fmt.Sprint("seed", seed), func(t *testing.T) { randomHistory(t, seed) }) {
			break
		}
	}
	t.Logf("%d histories", runs)
}

func randomHistory(t *testing.T, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, seed*7919))
	n := 3 + rng.IntN(3)
	const id = "cust"
	nows := make([]time.Time, n)
	stores := make([]*Store, n)
	for i := range stores {
		nows[i] = t0
		i := i
		stores[i] = mustOpen(t, Options{Node: fmt.Sprintf("n%d", i), Now: func() time.Time { return nows[i] }})
	}
	acks := map[string][]ack{}
	var erasures []profile.Version
	type viewAck struct{ v, born profile.Version }
	var views []viewAck
	type buy struct {
		id      string
		v, born profile.Version
	}
	var buys []buy

	deliver := func(from, to int) {
		for _, x := range []string{id, "anon0", "anon1", "anon2"} {
			if tv := stores[from].Tombstone(x); tv != 0 {
				if _, err := stores[to].MergeTombstone(x, tv); err != nil {
					t.Fatal(err)
				}
			}
		}
		if p, _ := stores[from].Get(id); p != nil {
			if _, err := stores[to].MergeRemote(p.Clone()); err != nil {
				t.Fatal(err)
			}
		}
	}
	ops := 20 + rng.IntN(40)
	for op := 0; op < ops; op++ {
		r := rng.IntN(n)
		s := stores[r]
		// Clocks advance by 0 to 2 ms: replicas often read the same time.
		nows[r] = nows[r].Add(time.Duration(rng.IntN(3)) * time.Millisecond)
		before, _ := s.Get(id)
		var after *profile.Profile
		ev := func(e Event) {
			e.Customer, e.TS = id, nows[r]
			e.ID = fmt.Sprintf("e%d-%d", seed, op)
			if res := s.ApplyEvent(e); res.Status == EventAccepted {
				after, _ = s.Get(id)
			}
		}
		switch k := rng.IntN(12); {
		case k < 3: // PATCH of attributes and a score
			key := fmt.Sprintf("k%d", rng.IntN(3))
			val := rng.IntN(2) == 0
			after, _ = s.Update(id, func(p *profile.Profile) error {
				if p.Attrs == nil {
					p.Attrs = map[string]any{}
				}
				if val {
					p.Attrs[key] = fmt.Sprint(r, "-", op)
				} else {
					delete(p.Attrs, key)
				}
				if rng.IntN(2) == 0 {
					if p.Scores == nil {
						p.Scores = map[string]float64{}
					}
					p.Scores["s"] = float64(op)
				}
				return nil
			})
		case k == 3: // consent flip
			b := rng.IntN(2) == 0
			after, _ = s.Update(id, func(p *profile.Profile) error { p.Consent.Personalization = &b; return nil })
		case k == 4:
			ev(Event{Type: EventPurchase, Value: float64(op)})
		case k == 5:
			ev(Event{Type: EventAddToCart, Product: fmt.Sprintf("p%d", rng.IntN(3)), Value: 2})
		case k == 6:
			ev(Event{Type: EventRemoveFromCart, Product: fmt.Sprintf("p%d", rng.IntN(3))})
		case k < 10:
			ev(Event{Type: EventView, Category: fmt.Sprintf("c%d", rng.IntN(2))})
		case k == 10:
			if err := s.Link(fmt.Sprintf("anon%d", rng.IntN(3)), id); err != nil {
				t.Fatal(err)
			}
			after, _ = s.Get(id)
		default:
			if rng.IntN(3) == 0 {
				// An erasure, after every copy has reached every replica
				// and told to every replica at once. (An erasure
				// concurrent with writes removes the whole incarnation
				// the writes were merged into, which this model does
				// not predict.)
				for i := range n {
					for j := range n {
						deliver(i, j)
						deliver(j, i)
					}
				}
				if err := s.Erase(id); err != nil {
					t.Fatal(err)
				}
				erasures = append(erasures, s.Tombstone(id))
				for j := range stores {
					deliver(r, j)
				}
				continue
			}
		}
		if after != nil && (before == nil || after.Version != before.Version) {
			st := profile.Stamp{V: after.Version, Node: after.Node}
			old, cur := registers(before), registers(after)
			for k, v := range cur {
				if o, ok := old[k]; !ok || o != v {
					acks[k] = append(acks[k], ack{v, st, after.Born})
				}
			}
			for k := range old {
				if _, ok := cur[k]; !ok {
					acks[k] = append(acks[k], ack{nil, st, after.Born})
				}
			}
			if d := viewTotal(after) - viewTotal(before); d > 0 && (before == nil || before.Born == after.Born) {
				for range d {
					views = append(views, viewAck{after.Version, after.Born})
				}
			}
			for _, p := range after.Purchases {
				if before == nil || !slices.ContainsFunc(before.Purchases, func(x profile.Purchase) bool { return x.ID == p.ID }) {
					buys = append(buys, buy{p.ID, after.Version, after.Born})
				}
			}
		}
		// Some copies travel meanwhile, some twice.
		for range rng.IntN(3) {
			f, to := rng.IntN(n), rng.IntN(n)
			deliver(f, to)
		}
	}
	// Everything is delivered, in random order, with duplicates.
	for round := 0; round < 3; round++ {
		pairs := [][2]int{}
		for i := range n {
			for j := range n {
				if i != j {
					pairs = append(pairs, [2]int{i, j}, [2]int{i, j})
				}
			}
		}
		rng.Shuffle(len(pairs), func(i, j int) { pairs[i], pairs[j] = pairs[j], pairs[i] })
		for _, pr := range pairs {
			deliver(pr[0], pr[1])
		}
	}
	var want []byte
	var wantDigest []uint64
	for i, s := range stores {
		p, _ := s.Get(id)
		var data []byte
		if p != nil {
			data, _ = marshalProfile(p)
		}
		d, err := s.Digest(64, 0)
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			want, wantDigest = data, d
			continue
		}
		if string(data) != string(want) {
			t.Fatalf("replica %d holds\n%s\nreplica 0 holds\n%s", i, data, want)
		}
		if !slices.Equal(d, wantDigest) {
			t.Fatalf("replica %d: digest differs from replica 0's", i)
		}
	}
	final, _ := stores[0].Get(id)
	// An erasure removes the writes stamped before it (it wins its whole
	// millisecond, see TestEraseBoundary) and every write to a profile
	// born before it, even one stamped later by a node that had not heard
	// of it: such a write still holds the erased data.
	erasedAfter := func(v, born profile.Version) bool {
		for _, e := range erasures {
			if !e.Time().Before(v.Time()) || born <= e {
				return true
			}
		}
		return false
	}
	got := registers(final)
	for k, list := range acks {
		var last *ack
		for i := range list {
			if erasedAfter(list[i].stamp.V, list[i].born) {
				continue
			}
			if last == nil || list[i].stamp.After(last.stamp) {
				last = &list[i]
			}
		}
		if last == nil {
			continue
		}
		if v, ok := got[k]; last.val == nil && ok || last.val != nil && v != last.val {
			t.Errorf("%s: holds %v, want %v written at %v", k, v, last.val, last.stamp)
		}
	}
	wantViews := int32(0)
	for _, v := range views {
		if !erasedAfter(v.v, v.born) {
			wantViews++
		}
	}
	if g := viewTotal(final); g != wantViews {
		t.Errorf("views: %d, want %d acknowledged since the last erasure", g, wantViews)
	}
	for _, b := range buys {
		if !erasedAfter(b.v, b.born) && (final == nil || !slices.ContainsFunc(final.Purchases, func(x profile.Purchase) bool { return x.ID == b.id })) {
			t.Errorf("purchase %s acknowledged at %d is lost", b.id, b.v)
		}
	}
	if t.Failed() {
		t.Logf("erasures %v; final %+v", erasures, final)
	}
}
