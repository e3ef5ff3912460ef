package sync

import (
	"fmt"
	"testing"

	"github.com/marquee-proxy/marquee/profile"
)

func TestSampleIDs(t *testing.T) {
	st, err := Open(Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	const n = 3000 // more than one scan chunk
	for i := range n {
		if _, err := st.Update(fmt.Sprintf("v%05d", i), func(p *profile.Profile) error {
			p.Attrs = map[string]any{"i": i}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name    string
		k, want int
	}{
		{"none", 0, 0},
		{"some", 100, 100},
		{"all", n, n},
		{"more than stored", 2 * n, n},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ids, total, err := st.SampleIDs(tt.k)
			if err != nil {
				t.Fatal(err)
			}
			if total != n || len(ids) != tt.want {
				t.Fatalf("got %d ids of %d, want %d of %d", len(ids), total, tt.want, n)
			}
			seen := map[string]bool{}
			for _, id := range ids {
				if seen[id] {
					t.Fatalf("id %q twice", id)
				}
				seen[id] = true
				if p, _ := st.Get(id); p == nil {
					t.Fatalf("id %q not stored", id)
				}
			}
		})
	}
}

// TestSampleIDsUniform draws many samples of 10 from 100 ids: each id
// must be drawn about a tenth of the time (a chi-square test at a
// threshold far past chance, so the test does not flake).
func TestSampleIDsUniform(t *testing.T) {
	st, err := Open(Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for i := range 100 {
		if _, err := st.Update(fmt.Sprintf("id-%d", i*i), func(p *profile.Profile) error { p.Attrs = map[string]any{"x": 1}; return nil }); err != nil {
			t.Fatal(err)
		}
	}
	const draws = 2000
	counts := map[string]int{}
	for range draws {
		ids, _, err := st.SampleIDs(10)
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range ids {
			counts[id]++
		}
	}
	want := float64(draws) / 10
	chi := 0.0
	for i := range 100 {
		d := float64(counts[fmt.Sprintf("id-%d", i*i)]) - want
		chi += d * d / want
	}
	// 99 degrees of freedom: the 99.999th percentile is about 170.
	if chi > 170 {
		t.Errorf("chi-square %.1f over 99 degrees of freedom: the sample is not uniform", chi)
	}
}
