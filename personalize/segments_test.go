package personalize

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/marquee-proxy/marquee/config"
	"github.com/marquee-proxy/marquee/profile"
	msync "github.com/marquee-proxy/marquee/sync"
)

func TestScaleShare(t *testing.T) {
	tests := []struct {
		name                string
		m, n, total         int
		est, low, high      int
		approxLow, approxHi bool
	}{
		{name: "nothing sampled", m: 0, n: 0, total: 0, est: 0, low: 0, high: 0},
		{name: "empty store", m: 0, n: 0, total: 50, est: 0, low: 0, high: 50},
		{name: "census is exact", m: 30, n: 100, total: 100, est: 30, low: 30, high: 30},
		// p = 0.5, n = 10000 of 1e6: ±0.98% of 1e6, narrowed by sqrt(0.99).
		{name: "half of a million", m: 5000, n: 10000, total: 1000000, est: 500000, low: 490250, high: 509750, approxLow: true, approxHi: true},
		{name: "none sampled still bounds", m: 0, n: 10000, total: 1000000, est: 0, low: 0, high: 380, approxHi: true},
		{name: "all sampled", m: 10000, n: 10000, total: 1000000, est: 1000000, low: 999620, high: 1000000, approxLow: true},
	}
	near := func(got, want int) bool { return got >= want-want/100-2 && got <= want+want/100+2 }
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			est, low, high := scaleShare(tt.m, tt.n, tt.total)
			if est != tt.est {
				t.Errorf("estimate %d, want %d", est, tt.est)
			}
			if (tt.approxLow && !near(low, tt.low)) || (!tt.approxLow && low != tt.low) {
				t.Errorf("low %d, want %d", low, tt.low)
			}
			if (tt.approxHi && !near(high, tt.high)) || (!tt.approxHi && high != tt.high) {
				t.Errorf("high %d, want %d", high, tt.high)
			}
			if low > est || est > high {
				t.Errorf("interval [%d, %d] misses the estimate %d", low, high, est)
			}
		})
	}
}

// TestSegmentEstimateCoverage draws samples of 200 from a store of 2000
// profiles with known membership: the 95% intervals must hold the true
// count about 95% of the time.
func TestSegmentEstimateCoverage(t *testing.T) {
	cfg, err := config.Parse("t.yaml", []byte("origin: http://127.0.0.1:1\nsegments:\n  gold: 'attrs.tier == \"gold\"'\n  rare: 'attrs.tier == \"rare\"'\n"))
	if err != nil {
		t.Fatal(err)
	}
	snap, err := Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	st, err := msync.Open(msync.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rng := rand.New(rand.NewPCG(1, 2))
	gold, rare := 0, 0
	for i := range 2000 {
		tier := "silver"
		switch r := rng.Float64(); {
		case r < 0.3:
			tier, gold = "gold", gold+1
		case r < 0.31:
			tier, rare = "rare", rare+1
		}
		if _, err := st.Update(fmt.Sprintf("v%04d", i), func(p *profile.Profile) error {
			p.Attrs = map[string]any{"tier": tier}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	p, err := New(Options{Snapshot: snap, Store: st, Keys: [][]byte{[]byte("test-key-0123456789abcdef")}})
	if err != nil {
		t.Fatal(err)
	}
	const rounds = 200
	covered := map[string]int{}
	for range rounds {
		ids, total, err := st.SampleIDs(200)
		if err != nil {
			t.Fatal(err)
		}
		members := map[string]int{}
		for _, id := range ids {
			prof, _ := st.Get(id)
			d := snap.Engine.Acquire(prof, []byte(id), p.Now())
			for _, s := range d.SegmentNames() {
				members[s]++
			}
			d.Release()
		}
		for name, truth := range map[string]int{"gold": gold, "rare": rare} {
			_, low, high := scaleShare(members[name], len(ids), total)
			if low <= truth && truth <= high {
				covered[name]++
			}
		}
	}
	for _, name := range []string{"gold", "rare"} {
		// 95% nominal; the binomial spread over 200 rounds is about ±3%.
		if share := float64(covered[name]) / rounds; share < 0.89 {
			t.Errorf("%s: interval held the true count in %.0f%% of samples, want about 95%%", name, share*100)
		}
	}

	est, err := p.EstimateSegments()
	if err != nil {
		t.Fatal(err)
	}
	if !est.Exact || est.Profiles != 2000 || est.Sampled != 2000 || len(est.Segments) != 2 ||
		est.Segments[0] != (SegmentCount{Name: "gold", Estimate: gold, Low: gold, High: gold, Members: gold}) {
		t.Errorf("census of a small store: %+v", est)
	}
}

// A segment that reads the request, directly or through another segment,
// is marked per request in the estimate; one that reads only the profile
// is not.
func TestSegmentEstimatePerRequest(t *testing.T) {
	cfg, err := config.Parse("t.yaml", []byte(`origin: http://127.0.0.1:1
segments:
  gold: 'attrs.tier == "gold"'
  phone: 'device.type == "mobile"'
  gold_on_phone: 'gold && phone'
`))
	if err != nil {
		t.Fatal(err)
	}
	snap, err := Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	st, err := msync.Open(msync.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	p, err := New(Options{Snapshot: snap, Store: st, Keys: [][]byte{[]byte("test-key-0123456789abcdef")}})
	if err != nil {
		t.Fatal(err)
	}
	est, err := p.EstimateSegments()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"gold": false, "phone": true, "gold_on_phone": true}
	for _, s := range est.Segments {
		if s.PerRequest != want[s.Name] {
			t.Errorf("%s: per_request %v, want %v", s.Name, s.PerRequest, want[s.Name])
		}
	}
}
