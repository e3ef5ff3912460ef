package stats

import (
	"math"
	"testing"
)

func near(got, want, tol float64) bool {
	return math.Abs(got-want) <= tol*math.Max(1, math.Abs(want))
}

func TestChiSquareSFKnownQuantiles(t *testing.T) {
	// Upper quantiles of the chi-square distribution, as printed in every
	// table (e.g. R's qchisq(1-p, df)).
	tests := []struct {
		x    float64
		df   int
		want float64
	}{
		{3.841458820694124, 1, 0.05},
		{10.827566170662733, 1, 0.001},
		{5.991464547107979, 2, 0.05},
		{16.26623619623813, 3, 0.001},
		{15.08627246938899, 5, 0.01},
		{18.307038053275146, 10, 0.05},
	}
	for _, tt := range tests {
		if got := chiSquareSF(tt.x, tt.df); !near(got, tt.want, 1e-9) {
			t.Errorf("chiSquareSF(%v, %d) = %v, want %v", tt.x, tt.df, got, tt.want)
		}
	}
}

func TestChiSquareSFClosedForms(t *testing.T) {
	// For df 1, 2 and 4 the survival function has a closed form; the
	// x values span both the series (x < a+1) and the continued fraction.
	forms := []struct {
		df int
		f  func(x float64) float64
	}{
		{1, func(x float64) float64 { return math.Erfc(math.Sqrt(x / 2)) }},
		{2, func(x float64) float64 { return math.Exp(-x / 2) }},
		{4, func(x float64) float64 { return math.Exp(-x/2) * (1 + x/2) }},
	}
	for _, f := range forms {
		for _, x := range []float64{1e-6, 0.01, 0.5, 1, 1.99, 2.01, 3, 7.5, 20, 60, 200} {
			got, want := chiSquareSF(x, f.df), f.f(x)
			if !near(got, want, 1e-12) && math.Abs(got-want) > 1e-300 {
				t.Errorf("chiSquareSF(%v, %d) = %v, want %v", x, f.df, got, want)
			}
		}
	}
}

func TestChiSquareSFEdges(t *testing.T) {
	tests := []struct {
		name string
		x    float64
		df   int
		want float64 // NaN: want NaN
	}{
		{"zero", 0, 3, 1},
		{"negative", -1, 3, 1},
		{"infinite", math.Inf(1), 3, 0},
		{"no df", 1, 0, math.NaN()},
		{"NaN", math.NaN(), 1, math.NaN()},
	}
	for _, tt := range tests {
		got := chiSquareSF(tt.x, tt.df)
		if math.IsNaN(tt.want) != math.IsNaN(got) || (!math.IsNaN(got) && got != tt.want) {
			t.Errorf("%s: chiSquareSF(%v, %d) = %v, want %v", tt.name, tt.x, tt.df, got, tt.want)
		}
	}
}

func TestNormalSF(t *testing.T) {
	tests := []struct{ z, want float64 }{
		{0, 0.5},
		{z975, 0.025},
		{-z975, 0.975},
		{1.6448536269514722, 0.05},
		{3.090232306167813, 0.001},
	}
	for _, tt := range tests {
		if got := normalSF(tt.z); !near(got, tt.want, 1e-12) {
			t.Errorf("normalSF(%v) = %v, want %v", tt.z, got, tt.want)
		}
	}
	// The tail keeps relative precision where 1-Φ would be 0.
	if got := normalSF(10); got <= 0 || !near(got, 7.619853024160527e-24, 1e-9) {
		t.Errorf("normalSF(10) = %v, want 7.62e-24", got)
	}
}

func TestCompareByHand(t *testing.T) {
	// Control 100/1000, variant 130/1000.
	pc, pv := 100.0/1000, 130.0/1000
	wantLift := (pv - pc) / pc // 0.3

	// Pooled z-test: p = 230/2000 = 0.115,
	// SE = √(0.115 · 0.885 · (1/1000 + 1/1000)) = √0.00020355 ≈ 0.0142671,
	// z = 0.03 / SE ≈ 2.10274, two-sided p = erfc(z/√2) ≈ 0.03549.
	p := 230.0 / 2000
	se := math.Sqrt(p * (1 - p) * (1.0/1000 + 1.0/1000))
	z := (pv - pc) / se
	wantP := math.Erfc(z / math.Sqrt2)

	// Katz log interval: Var ln(RR) = 1/130 - 1/1000 + 1/100 - 1/1000
	// ≈ 0.0156923, SE ≈ 0.125269; ln 1.3 ≈ 0.262364;
	// exp(0.262364 ∓ 1.959964 · 0.125269) - 1 ≈ [0.01698, 0.66178].
	lse := math.Sqrt(1.0/130 - 1.0/1000 + 1.0/100 - 1.0/1000)
	wantLow := math.Exp(math.Log(1.3)-1.959964*lse) - 1
	wantHigh := math.Exp(math.Log(1.3)+1.959964*lse) - 1

	got := compare(100, 1000, 130, 1000)
	checks := []struct {
		name           string
		got, want, tol float64
		ok             bool
	}{
		{"lift", got.lift, wantLift, 1e-12, got.liftOK},
		{"p-value", got.pValue, wantP, 1e-12, got.pValueOK},
		// 1.959964 in the arithmetic above is rounded.
		{"ci low", got.ciLow, wantLow, 1e-6, got.ciOK},
		{"ci high", got.ciHigh, wantHigh, 1e-6, got.ciOK},
		// The rounded numbers of the comments, as a check on the formulas.
		{"p-value rounded", got.pValue, 0.03549, 1e-4, got.pValueOK},
		{"ci low rounded", got.ciLow, 0.01698, 1e-4, got.ciOK},
		{"ci high rounded", got.ciHigh, 0.66178, 1e-4, got.ciOK},
	}
	for _, c := range checks {
		if !c.ok || !near(c.got, c.want, c.tol) {
			t.Errorf("%s = %v (ok %v), want %v", c.name, c.got, c.ok, c.want)
		}
	}
}

func TestCompareDegenerate(t *testing.T) {
	tests := []struct {
		name                    string
		xc, nc, xv, nv          float64
		wantLift, wantCI, wantP bool
	}{
		{"no control visitors", 0, 0, 5, 100, false, false, false},
		{"no variant visitors", 5, 100, 0, 0, false, false, false},
		{"no conversions anywhere", 0, 100, 0, 100, false, false, false},
		{"no control conversions", 0, 100, 5, 100, false, false, true},
		{"no variant conversions", 5, 100, 0, 100, true, false, true},
		{"everyone converts", 100, 100, 100, 100, true, true, false},
		{"more converters than visitors", 200, 100, 5, 100, false, false, false},
	}
	for _, tt := range tests {
		got := compare(tt.xc, tt.nc, tt.xv, tt.nv)
		if got.liftOK != tt.wantLift || got.ciOK != tt.wantCI || got.pValueOK != tt.wantP {
			t.Errorf("%s: lift/ci/p ok = %v/%v/%v, want %v/%v/%v", tt.name,
				got.liftOK, got.ciOK, got.pValueOK, tt.wantLift, tt.wantCI, tt.wantP)
		}
		for _, v := range []float64{got.lift, got.ciLow, got.ciHigh, got.pValue} {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				t.Errorf("%s: non-finite result %+v", tt.name, got)
			}
		}
	}
}

func TestSRM(t *testing.T) {
	tests := []struct {
		name     string
		observed []float64
		weights  []float64
		wantOK   bool
		wantSRM  bool
	}{
		// 5,500 vs 4,500 on 50/50: e = 5000, cell variance
		// 5000 + (0.008125·5000)² ≈ 6650.4, χ² = 2·500²/6650.4 ≈ 75.2,
		// p ≈ 4e-18.
		{"skewed 50/50", []float64{5500, 4500}, []float64{1, 1}, true, true},
		{"fair 50/50", []float64{5040, 4960}, []float64{1, 1}, true, false},
		{"fair 90/10 holdout", []float64{4480, 4530, 990}, []float64{0.45, 0.45, 0.1}, true, false},
		{"lost arm", []float64{5000, 5000, 0}, []float64{0.45, 0.45, 0.1}, true, true},
		{"too few visitors", []float64{6, 3}, []float64{1, 1}, false, false},
		{"one arm", []float64{5000}, []float64{1}, false, false},
		{"zero weight", []float64{5000, 5000}, []float64{1, 0}, false, false},
		{"no visitors", []float64{0, 0}, []float64{1, 1}, false, false},
	}
	for _, tt := range tests {
		chi2, df, p, ok := srmTest(tt.observed, tt.weights)
		if ok != tt.wantOK || (ok && (p < SRMThreshold) != tt.wantSRM) {
			t.Errorf("%s: ok %v, χ² %v, df %d, p %v; want ok %v, srm %v", tt.name, ok, chi2, df, p, tt.wantOK, tt.wantSRM)
		}
	}
	e := 5000.0
	want := 2 * 500 * 500 / (e + sketchRelErr*sketchRelErr*e*e)
	if chi2, _, _, _ := srmTest([]float64{5500, 4500}, []float64{1, 1}); !near(chi2, want, 1e-12) || !near(chi2, 75.18, 1e-3) {
		t.Errorf("χ² = %v, want %v", chi2, want)
	}
}
