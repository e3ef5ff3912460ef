package stats

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestStudentT(t *testing.T) {
	// Quantiles as printed in every t table (R's qt(0.975, df) etc.), and
	// one survival value from numerical integration of the density.
	quantiles := []struct {
		p, df, want float64
	}{
		{0.025, 1, 12.706204736174707},
		{0.025, 5, 2.5705818366147395},
		{0.025, 10, 2.2281388519649385},
		{0.025, 30, 2.0422724563012373},
		{0.005, 3, 5.84090930973337},
		{0.025, math.Inf(1), z975},
	}
	for _, tt := range quantiles {
		if got := studentTQuantile(tt.p, tt.df); !near(got, tt.want, 1e-9) {
			t.Errorf("studentTQuantile(%v, %v) = %.15g, want %.15g", tt.p, tt.df, got, tt.want)
		}
	}
	sf := []struct {
		x, df, want float64
	}{
		{2, 5, 0.050969739414929514},
		{0, 7, 0.5},
		{-2, 5, 1 - 0.050969739414929514},
		{1.959963984540054, math.Inf(1), 0.025},
	}
	for _, tt := range sf {
		if got := studentTSF(tt.x, tt.df); !near(got, tt.want, 1e-9) {
			t.Errorf("studentTSF(%v, %v) = %.15g, want %.15g", tt.x, tt.df, got, tt.want)
		}
	}
}

// sumsOfData returns the sums of observations ys with covariates xs (nil:
// all zero).
func sumsOfData(ys, xs []float64) sums {
	var s sums
	for i, y := range ys {
		x := 0.0
		if xs != nil {
			x = xs[i]
		}
		s.n++
		s.y += y
		s.yy += y * y
		s.x += x
		s.xx += x * x
		s.xy += x * y
	}
	return s
}

// TestWelchHandComputed compares Welch's interval with a case worked by
// hand: A = 1..5 (mean 3, variance 2.5), B = 2,4,..,10 (mean 6, variance
// 10). The difference is 3, its variance 10/5 + 2.5/5 = 2.5, the
// Welch–Satterthwaite df 2.5²/(2²/4 + 0.5²/4) = 100/17, and the t quantile
// at that df 2.45882371 (R: t.test(B, A) gives t = 1.8974, df = 5.8824,
// p = 0.1075, interval -0.888 to 6.888).
func TestWelchHandComputed(t *testing.T) {
	a := sumsOfData([]float64{1, 2, 3, 4, 5}, nil)
	b := sumsOfData([]float64{2, 4, 6, 8, 10}, nil)
	e, ok := meanEstimate(a, b, false)
	if !ok {
		t.Fatal("no diffEstimate")
	}
	lo, hi, p, _ := fixedTest(e)
	tests := []struct {
		name      string
		got, want float64
	}{
		{"difference", e.diff, 3},
		{"variance", e.v, 2.5},
		{"df", e.df, 100.0 / 17},
		{"low", lo, -0.8877416437369856},
		{"high", hi, 6.887741643736986},
		{"p", p, 0.10753119493062574},
	}
	for _, tt := range tests {
		if !near(tt.got, tt.want, 1e-7) {
			t.Errorf("%s: got %.12g, want %.12g", tt.name, tt.got, tt.want)
		}
	}
}

// TestRatioDeltaMethod checks average order value's delta-method variance
// against the formula worked by hand for five visitors with (value,
// orders) (10,1) (30,2) (0,0) (20,1) (50,2): ȳ = 22, ō = 1.2, s²_y = 370,
// s²_o = 0.7, s_yo = 14.5, so Var(R) = (370/1.44 - 2·22·14.5/1.728 +
// 484·0.7/2.0736)/5 = 10.2237654...
func TestRatioDeltaMethod(t *testing.T) {
	var m Moments
	for _, v := range [][2]float64{{10, 1}, {30, 2}, {0, 0}, {20, 1}, {50, 2}} {
		m.enroll(Covariate{})
		var k, r float64
		for i := 0; i < int(v[1]); i++ {
			m.outcome(Outcome{Value: v[0] / v[1], PriorOrders: k, PriorRevenue: r})
			k++
			r += v[0] / v[1]
		}
	}
	ratio, variance, ok := ratioMoments(m)
	if !ok {
		t.Fatal("no ratio")
	}
	want := (370/1.44 - 2*22*14.5/1.728 + 484*0.7/2.0736) / 5
	if !near(ratio, 110.0/6, 1e-12) || !near(variance, want, 1e-12) {
		t.Errorf("ratio %v variance %v, want %v and %v", ratio, variance, 110.0/6, want)
	}
}

// TestMomentsArePerVisitor checks that the increments of outcome add up to
// sums over visitors of their totals, not over orders.
func TestMomentsArePerVisitor(t *testing.T) {
	type visitor struct {
		pre    Covariate
		orders []float64
	}
	vs := []visitor{
		{Covariate{Orders: 2, Revenue: 40}, []float64{10, 25, 5}},
		{Covariate{}, []float64{100}},
		{Covariate{Orders: 1, Revenue: 7}, nil},
		{Covariate{}, []float64{0, 3}},
	}
	var got, want Moments
	for _, v := range vs {
		got.enroll(v.pre)
		var k, r float64
		for _, x := range v.orders {
			got.outcome(Outcome{Value: x, PriorOrders: k, PriorRevenue: r, Pre: v.pre})
			k++
			r += x
		}
		want.N++
		if v.pre.Orders > 0 {
			want.PreBuyers++
		}
		want.PreOrders += v.pre.Orders
		want.PreOrdersSq += v.pre.Orders * v.pre.Orders
		want.PreRevenue += v.pre.Revenue
		want.PreRevenueSq += v.pre.Revenue * v.pre.Revenue
		if k > 0 {
			want.Converters++
			if v.pre.Orders > 0 {
				want.ConvertersPre++
			}
		}
		want.Orders += k
		want.OrdersSq += k * k
		want.OrdersPre += k * v.pre.Orders
		want.Revenue += r
		want.RevenueSq += r * r
		want.RevenuePre += r * v.pre.Revenue
		want.RevenueOrders += r * k
	}
	if got != want {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
}

// TestMSPRT checks the mixture ratio against the formula of Johari et al.
// evaluated by hand, and the confidence sequence against its definition
// (the boundary is where Λ = 1/α) and against GrowthBook's closed form
// σ·√(2(Nρ²+1)/(N²ρ²)·ln(√(Nρ²+1)/α)).
func TestMSPRT(t *testing.T) {
	values := []struct {
		diff, v, tau2, want float64
	}{
		{3, 1, 1, 6.708842347995734},         // √½·e^2.25
		{0.5, 0.04, 0.01, 1.671009983803051}, // √0.8·e^(0.0025/0.004)
		{0, 1, 3, 0.5},                       // no effect: √(1/4)
	}
	for _, tt := range values {
		if got := msprt(tt.diff, tt.v, tt.tau2); !near(got, tt.want, 1e-12) {
			t.Errorf("msprt(%v, %v, %v) = %.15g, want %.15g", tt.diff, tt.v, tt.tau2, got, tt.want)
		}
	}

	for _, n := range []float64{100, 1000, SequentialTuning, 1e5} {
		const sigma2 = 2.0 // both arms with unit variance
		e := diffEstimate{diff: 0.1, v: sigma2 / n, unitVar: sigma2, df: math.Inf(1)}
		lo, hi, p, _ := sequentialTest(e)
		half := (hi - lo) / 2
		tau2 := mixtureVariance(e.unitVar)
		if got := msprt(half, e.v, tau2); !near(got, 1/Alpha, 1e-9) {
			t.Errorf("n=%v: Λ at the sequence's boundary = %v, want 1/α", n, got)
		}
		rho2 := (-2*math.Log(Alpha) + math.Log(1-2*math.Log(Alpha))) / SequentialTuning
		gb := math.Sqrt(sigma2) * math.Sqrt(2*(n*rho2+1)/(n*n*rho2)*math.Log(math.Sqrt(n*rho2+1)/Alpha))
		if !near(half, gb, 1e-12) {
			t.Errorf("n=%v: half-width %v, GrowthBook's formula %v", n, half, gb)
		}
		if want := math.Min(1, 1/msprt(e.diff, e.v, tau2)); !near(p, want, 1e-12) {
			t.Errorf("n=%v: p %v, want 1/Λ = %v", n, p, want)
		}
		if fl, fh, _, _ := fixedTest(e); fh-fl >= hi-lo {
			t.Errorf("n=%v: sequence [%v, %v] not wider than the fixed interval [%v, %v]", n, lo, hi, fl, fh)
		}
	}
}

// TestAAFalsePositives simulates 1,000 A/A experiments, each read every
// day for 30 days, 100 visitors per arm a day of whom 10% buy, and counts
// the experiments declared significant at some look. The always-valid
// p-value must keep that at or below 5%; the fixed-horizon p-value, read
// daily, must not (that is the peeking problem the sequential test exists
// for). It does so for conversion and for revenue per visitor, whose
// order values are log-normal, skewed as real ones are. Daily aggregates
// are simulated into Moments, the sums the report reads.
func TestAAFalsePositives(t *testing.T) {
	const (
		experiments = 1000
		days        = 30
		perDay      = 100
		rate        = 0.1
	)
	// A day's buyers are drawn from Binomial(perDay, rate) by inverting its
	// distribution function: one draw per arm and day instead of one per
	// visitor keeps the test fast under the race detector.
	cdf := make([]float64, perDay+1)
	pmf := math.Pow(1-rate, perDay)
	for k := range cdf {
		if k > 0 {
			pmf *= float64(perDay-k+1) / float64(k) * rate / (1 - rate)
			cdf[k] = cdf[k-1]
		}
		cdf[k] += pmf
	}
	for _, metric := range []Metric{MetricConversion, MetricRevenue} {
		rng := rand.New(rand.NewPCG(18, 2026))
		var fixedFP, seqFP, lastLookFP int
		for range experiments {
			var arms [2]Moments
			var fixedHit, seqHit bool
			for range days {
				for a := range arms {
					u := rng.Float64()
					k := 0
					for k < perDay && cdf[k] < u {
						k++
					}
					day := Moments{N: perDay}
					for range k {
						day.outcome(Outcome{Value: math.Exp(3 + rng.NormFloat64())})
					}
					arms[a].add(day)
				}
				e, ok := meanEstimate(arms[0].sumsOf(metric), arms[1].sumsOf(metric), false)
				if !ok {
					continue
				}
				if _, _, p, ok := fixedTest(e); ok && p < Alpha {
					fixedHit = true
				}
				if _, _, p, ok := sequentialTest(e); ok && p < Alpha {
					seqHit = true
				}
			}
			e, _ := meanEstimate(arms[0].sumsOf(metric), arms[1].sumsOf(metric), false)
			if _, _, p, ok := fixedTest(e); ok && p < Alpha {
				lastLookFP++
			}
			if fixedHit {
				fixedFP++
			}
			if seqHit {
				seqFP++
			}
		}
		seq, fixed, once := float64(seqFP)/experiments, float64(fixedFP)/experiments, float64(lastLookFP)/experiments
		t.Logf("%s: A/A false-positive rate over %d experiments, %d daily looks: sequential %.3f, fixed-horizon peeking %.3f, fixed-horizon read once %.3f",
			metric, experiments, days, seq, fixed, once)
		if seq > Alpha {
			t.Errorf("%s: sequential false-positive rate %.3f, want at most %v", metric, seq, Alpha)
		}
		if fixed <= Alpha {
			t.Errorf("%s: fixed-horizon with daily peeking: false-positive rate %.3f, want above %v", metric, fixed, Alpha)
		}
	}
}

// TestCUPEDVarianceReduction draws visitors whose outcome y correlates
// with the pre-period covariate x at ρ = 0.6 and checks that CUPED shrinks
// the variance of the difference by about ρ² = 36%, and leaves the
// estimate unbiased: a known effect of 0.05 is still found.
func TestCUPEDVarianceReduction(t *testing.T) {
	tests := []struct {
		rho  float64
		want float64
	}{
		{0.6, 0.36},
		{0.3, 0.09},
		{0, 0},
	}
	for _, tt := range tests {
		rng := rand.New(rand.NewPCG(6, 36))
		const n = 20000
		const effect = 0.05
		var arms [2]sums
		for a := range arms {
			for range n {
				// Shifted so both stay positive, as orders and revenue are:
				// a shift changes neither ρ nor variances.
				x := rng.NormFloat64()
				y := tt.rho*x + math.Sqrt(1-tt.rho*tt.rho)*rng.NormFloat64() + 10
				x += 10
				if a == 1 {
					y += effect
				}
				s := &arms[a]
				s.n++
				s.y += y
				s.yy += y * y
				s.x += x
				s.xx += x * x
				s.xy += x * y
			}
		}
		plain, _ := meanEstimate(arms[0], arms[1], false)
		adj, ok := meanEstimate(arms[0], arms[1], true)
		if !ok || !adj.cuped && tt.rho != 0 {
			t.Fatalf("ρ=%v: no CUPED diffEstimate", tt.rho)
		}
		got := 1 - adj.v/plain.v
		t.Logf("ρ=%.1f: CUPED variance reduction %.3f (want ≈ %.2f), θ %.3f, effect %.4f ± %.4f (plain %.4f ± %.4f)",
			tt.rho, got, tt.want, adj.theta, adj.diff, 1.96*math.Sqrt(adj.v), plain.diff, 1.96*math.Sqrt(plain.v))
		if math.Abs(got-tt.want) > 0.03 || math.Abs(adj.reduction-got) > 1e-12 {
			t.Errorf("ρ=%v: reduction %.3f (reported %.3f), want %.2f ± 0.03", tt.rho, got, adj.reduction, tt.want)
		}
		if math.Abs(adj.diff-effect) > 4*math.Sqrt(adj.v) {
			t.Errorf("ρ=%v: adjusted effect %.4f, want %v within 4 standard errors (%.4f)", tt.rho, adj.diff, effect, math.Sqrt(adj.v))
		}
	}
}

// TestDegenerateMomentsMarshal feeds estimates and recorded moments that
// sit at the edge of float64 (zero and subnormal variance, values near
// overflow): a test that cannot give finite bounds gives none, and the
// whole report still encodes as JSON, which has no Inf or NaN.
func TestDegenerateMomentsMarshal(t *testing.T) {
	for _, e := range []diffEstimate{
		{diff: 1, v: 0, unitVar: 0, df: math.Inf(1)},
		{diff: 1, v: 5e-324, unitVar: 5e-324, df: math.Inf(1)},
		{diff: 1, v: 5e-324, unitVar: 1e300, df: math.Inf(1)},
		{diff: 1e308, v: 1e-300, unitVar: 1e308, df: 3},
	} {
		for _, a := range []Analysis{AnalysisSequential, AnalysisFixed} {
			if lo, hi, p, ok := a.test(e); ok && (!finite(lo) || !finite(hi) || !finite(p)) {
				t.Errorf("%v %+v: ok with [%v, %v] p %v", a, e, lo, hi, p)
			}
		}
	}
	if _, _, _, ok := sequentialTest(diffEstimate{diff: 1, v: 0, unitVar: 1}); ok {
		t.Error("sequential test of a zero variance is ok")
	}

	specs := []ExperimentSpec{
		{Metrics: []string{"conversion", "orders_per_visitor", "revenue_per_visitor", "aov"}},
		{Metrics: []string{"conversion", "orders_per_visitor", "revenue_per_visitor", "aov"}, Analysis: "fixed"},
	}
	arms := []struct {
		name string
		pre  Covariate
		outs []Outcome
	}{
		{"control", Covariate{Revenue: 5e-324}, []Outcome{{Value: 5e-324}, {Value: 1e-320, PriorOrders: 1, PriorRevenue: 5e-324}}},
		{"treatment", Covariate{Revenue: 1e300, Orders: 1e300}, []Outcome{{Value: 1e300}, {Value: 1e-310}}},
	}
	for _, spec := range specs {
		for _, n := range []int{1, 2, 3, 50} {
			r := NewRecorder(Config{})
			r.RegisterExperiment("hero", abSpecs, spec)
			for _, a := range arms {
				for range n {
					r.Enroll("hero", a.name, a.pre)
					for _, o := range a.outs {
						r.Outcome("hero", a.name, o)
					}
				}
			}
			rep := r.Report("edge-1")
			if _, err := json.Marshal(rep); err != nil {
				t.Errorf("%s, %d visitors per arm: %v", spec.Analysis, n, err)
			}
			var sb strings.Builder
			if err := WriteText(&sb, rep); err != nil {
				t.Errorf("%s, %d visitors per arm: text: %v", spec.Analysis, n, err)
			}
		}
	}
	// Every visitor alike: no variance in either arm.
	r := NewRecorder(Config{})
	r.RegisterExperiment("hero", abSpecs, ExperimentSpec{})
	for _, a := range abSpecs {
		for range 10 {
			r.Enroll("hero", a.Name, Covariate{})
			r.Outcome("hero", a.Name, Outcome{Value: 1})
		}
	}
	rep := r.Report("edge-1")
	if _, err := json.Marshal(rep); err != nil {
		t.Errorf("zero variance: %v", err)
	}
	for _, v := range rep.Campaigns[0].Variants {
		for _, m := range v.Metrics {
			if m.CI95 != nil || m.PValue != nil {
				t.Errorf("zero variance: %s %s has an interval %v, p %v", v.Variant, m.Metric, m.CI95, m.PValue)
			}
		}
	}
}
