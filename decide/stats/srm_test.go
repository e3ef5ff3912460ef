package stats

import (
	"math"
	"testing"
)

// srmChiSquare is the statistic srmTest documents, computed here
// independently: Σ (o - e)² / (e + (σ·e)²), with σ the sketch's relative
// error.
func srmChiSquare(observed, weights []float64) float64 {
	var n, w float64
	for i := range observed {
		n += observed[i]
		w += weights[i]
	}
	const sigma = 1.04 / 128
	var chi2 float64
	for i := range observed {
		e := n * weights[i] / w
		d := observed[i] - e
		chi2 += d * d / (e + sigma*sigma*e*e)
	}
	return chi2
}

// chiSquareSFClosed is P(χ²(df) > x) in closed form for one and two
// degrees of freedom: erfc(√(x/2)) and exp(-x/2).
func chiSquareSFClosed(t *testing.T, x float64, df int) float64 {
	t.Helper()
	switch df {
	case 1:
		return math.Erfc(math.Sqrt(x / 2))
	case 2:
		return math.Exp(-x / 2)
	}
	t.Fatalf("no closed form for df %d", df)
	return 0
}

// TestSRMDegreesOfFreedom pins the statistic, degrees of freedom and
// p-value of the sample-ratio check for two and three arms, including a
// split just past the threshold: 5,200/4,800 on 50/50 is flagged with
// p ≈ 5.24e-4, which one degree of freedom too many (p ≈ 2.4e-3) would
// let through.
func TestSRMDegreesOfFreedom(t *testing.T) {
	tests := []struct {
		name     string
		observed []float64
		weights  []float64
		chi2     float64
		df       int
		p        float64
		srm      bool
	}{
		{"two arms 5200/4800", []float64{5200, 4800}, []float64{1, 1}, 12.0294, 1, 5.237e-4, true},
		{"two arms 5200/4800 as shares", []float64{5200, 4800}, []float64{0.5, 0.5}, 12.0294, 1, 5.237e-4, true},
		{"three arms 3500/3300/3200", []float64{3500, 3300, 3200}, []float64{1, 1, 1}, 11.4749, 2, 3.223e-3, false},
		{"three arms with holdout", []float64{4600, 4400, 1000}, []float64{0.45, 0.45, 0.1}, 3.42653, 2, 0.1803, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			chi2, df, p, ok := srmTest(tt.observed, tt.weights)
			if !ok {
				t.Fatal("test not run")
			}
			if want := srmChiSquare(tt.observed, tt.weights); !near(chi2, want, 1e-12) || !near(chi2, tt.chi2, 1e-5) {
				t.Errorf("χ² = %.6g, want %.6g (formula %.10g)", chi2, tt.chi2, want)
			}
			if df != tt.df {
				t.Errorf("df = %d, want %d", df, tt.df)
			}
			if want := chiSquareSFClosed(t, chi2, tt.df); !near(p, want, 1e-9) || math.Abs(p-tt.p) > 5e-4*tt.p {
				t.Errorf("p = %.6g, want %.4g (closed form %.10g)", p, tt.p, want)
			}
			if got := p < SRMThreshold; got != tt.srm {
				t.Errorf("flagged %v, want %v (p %.4g)", got, tt.srm, p)
			}
		})
	}
}

// TestReportSRMDegreesOfFreedom checks the sample-ratio check as the stats
// report shows it, for two and three arms: df is one less than the
// weighted arms, the statistic and p-value follow from the reported unique
// visitors, and a 5,200/4,800 split of a 50/50 experiment is flagged. The
// test runs on the sketches' estimates, not the exact counts, so its
// statistic differs a little from TestSRMDegreesOfFreedom's.
func TestReportSRMDegreesOfFreedom(t *testing.T) {
	tests := []struct {
		name   string
		specs  []VariantSpec
		counts []int
		df     int
		srm    bool
	}{
		{"two arms 5200/4800", abSpecs, []int{5200, 4800}, 1, true},
		{"three arms 3340/3330/3330", []VariantSpec{{Name: "a", Weight: 1, Control: true}, {Name: "b", Weight: 1}, {Name: "c", Weight: 1}},
			[]int{3340, 3330, 3330}, 2, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewRecorder(Config{Now: newClock().now})
			r.Register("c", tt.specs)
			for i, s := range tt.specs {
				for j := range tt.counts[i] {
					r.Expose("c", s.Name, visitor(i*1_000_000+j))
				}
			}
			cr := campaign(t, r.Report("n1"), "c")
			if cr.SRMTest == nil {
				t.Fatal("no SRM test in the report")
			}
			var observed, weights []float64
			for i, v := range cr.Variants {
				// The sketch's estimate is within 2% of the true count.
				if math.Abs(float64(v.UniqueVisitors)-float64(tt.counts[i])) > 0.02*float64(tt.counts[i]) {
					t.Fatalf("%s: %d unique visitors, want about %d", v.Variant, v.UniqueVisitors, tt.counts[i])
				}
				observed = append(observed, float64(v.UniqueVisitors))
				weights = append(weights, v.Weight)
			}
			got := *cr.SRMTest
			if got.DF != tt.df {
				t.Errorf("df = %d, want %d", got.DF, tt.df)
			}
			if want := srmChiSquare(observed, weights); !near(got.ChiSquare, want, 1e-12) {
				t.Errorf("χ² = %.10g, want %.10g", got.ChiSquare, want)
			}
			if want := chiSquareSFClosed(t, got.ChiSquare, tt.df); !near(got.PValue, want, 1e-9) {
				t.Errorf("p = %.10g, want %.10g", got.PValue, want)
			}
			if got.Threshold != 0.001 || cr.SRM != tt.srm {
				t.Errorf("srm %v at threshold %v (p %.4g), want %v at 0.001", cr.SRM, got.Threshold, got.PValue, tt.srm)
			}
		})
	}
}
