package stats

import "math"

// Alpha is the significance level of every metric test and interval:
// two-sided 95%.
const Alpha = 0.05

// SequentialTuning is the number of visitors per arm at which the
// confidence sequence is tightest (GrowthBook's default tuning, N* = 5000).
// A smaller experiment pays with wider intervals than at N*, a much larger
// one with slightly wider intervals than a tuning at its size; validity
// holds at every size.
const SequentialTuning = 5000

// diffEstimate is the difference of a metric between a variant and the
// baseline, with the variance of that difference.
type diffEstimate struct {
	diff float64 // variant - baseline, CUPED-adjusted when theta != 0
	v    float64 // variance of diff
	df   float64 // degrees of freedom for the t interval; +Inf for normal
	// unitVar is the variance one visitor of each arm adds, Σ nᵢ·Vᵢ: the
	// scale the mSPRT mixture is set on.
	unitVar float64
	// cuped reports whether the CUPED adjustment was applied; theta is
	// its coefficient and reduction 1 - v/(v without it).
	cuped     bool
	theta     float64
	reduction float64
}

// sampleVar returns the unbiased sample variance from n, Σy, Σy², or
// (0, false) with fewer than two observations. Rounding can make the
// difference slightly negative for a constant metric; it is clamped.
func sampleVar(n, sum, sumSq float64) (float64, bool) {
	if n < 2 {
		return 0, false
	}
	v := (sumSq - sum*sum/n) / (n - 1)
	return math.Max(v, 0), true
}

// sampleCov returns the unbiased sample covariance from n, Σx, Σy, Σxy.
func sampleCov(n, sx, sy, sxy float64) float64 {
	if n < 2 {
		return 0
	}
	return (sxy - sx*sy/n) / (n - 1)
}

// meanEstimate compares the per-visitor means of a mean metric: Welch's
// unequal-variance t (Welch, Biometrika 34:28–35, 1947), with the
// Welch–Satterthwaite degrees of freedom.
//
// With cuped, each arm's outcome y is replaced by y - θ(x - x̄) where x is
// the same outcome in the 30 days before enrollment and θ = Cov(x,y)/Var(x)
// over both arms pooled (Deng, Xu, Kohavi & Walker, "Improving the
// Sensitivity of Online Controlled Experiments by Utilizing Pre-Experiment
// Data", WSDM 2013). The difference stays unbiased because assignment is
// independent of x; its variance shrinks by about ρ², ρ the correlation of
// x and y. A covariate with no variance (no visitor bought before) leaves
// the estimate unadjusted.
func meanEstimate(base, alt sums, cuped bool) (diffEstimate, bool) {
	vb, okb := sampleVar(base.n, base.y, base.yy)
	va, oka := sampleVar(alt.n, alt.y, alt.yy)
	if !okb || !oka {
		return diffEstimate{}, false
	}
	e := diffEstimate{diff: alt.y/alt.n - base.y/base.n}
	v0 := va/alt.n + vb/base.n
	if cuped {
		n := base.n + alt.n
		vx, _ := sampleVar(n, base.x+alt.x, base.xx+alt.xx)
		if vx > 0 {
			e.theta = sampleCov(n, base.x+alt.x, base.y+alt.y, base.xy+alt.xy) / vx
			e.cuped = true
			adj := func(s sums, vy float64) float64 {
				vxs, _ := sampleVar(s.n, s.x, s.xx)
				c := sampleCov(s.n, s.x, s.y, s.xy)
				return math.Max(vy-2*e.theta*c+e.theta*e.theta*vxs, 0)
			}
			vb, va = adj(base, vb), adj(alt, va)
			e.diff -= e.theta * (alt.x/alt.n - base.x/base.n)
		}
	}
	qa, qb := va/alt.n, vb/base.n
	e.v = qa + qb
	e.unitVar = va + vb
	e.df = math.Inf(1)
	if den := qa*qa/(alt.n-1) + qb*qb/(base.n-1); den > 0 {
		e.df = e.v * e.v / den
	}
	if e.cuped && v0 > 0 {
		e.reduction = 1 - e.v/v0
	}
	return e, e.v > 0
}

// ratioMoments returns the ratio Σrevenue/Σorders of one arm and the delta
// method's variance of it: for R = ȳ/ō with per-visitor y (value) and o
// (orders), Var(R) ≈ (σ²_y/ō² - 2ȳσ_yo/ō³ + ȳ²σ²_o/ō⁴)/n (e.g. Deng,
// Knoblich & Lu, "Applying the Delta Method in Metric Analytics", KDD
// 2018). Visitors, not orders, are the independent units, so this is the
// honest variance of average order value.
func ratioMoments(m Moments) (ratio, variance float64, ok bool) {
	if m.N < 2 || m.Orders <= 0 {
		return 0, 0, false
	}
	n := m.N
	my, mo := m.Revenue/n, m.Orders/n
	vy, _ := sampleVar(n, m.Revenue, m.RevenueSq)
	vo, _ := sampleVar(n, m.Orders, m.OrdersSq)
	c := sampleCov(n, m.Revenue, m.Orders, m.RevenueOrders)
	v := (vy/(mo*mo) - 2*my*c/(mo*mo*mo) + my*my*vo/(mo*mo*mo*mo)) / n
	return m.Revenue / m.Orders, math.Max(v, 0), true
}

// ratioEstimate compares the average order value of two arms; the
// difference is tested on the normal scale (a ratio has no t
// distribution).
func ratioEstimate(base, alt Moments) (diffEstimate, bool) {
	rb, vb, okb := ratioMoments(base)
	ra, va, oka := ratioMoments(alt)
	if !okb || !oka {
		return diffEstimate{}, false
	}
	e := diffEstimate{diff: ra - rb, v: va + vb, df: math.Inf(1), unitVar: alt.N*va + base.N*vb}
	return e, e.v > 0
}

// fixedTest is the fixed-horizon two-sided test of e: the 95% interval
// diff ± t(0.975, df)·√v and its p-value; ok is false when they are not
// finite numbers (see finiteTest).
func fixedTest(e diffEstimate) (lo, hi, p float64, ok bool) {
	se := math.Sqrt(e.v)
	q := studentTQuantile(Alpha/2, e.df)
	return finiteTest(e.diff-q*se, e.diff+q*se, 2*studentTSF(math.Abs(e.diff)/se, e.df))
}

// finiteTest returns lo, hi, p and whether all three are finite.
// Degenerate moments (a subnormal variance, sums near overflow) can make
// a bound infinite or NaN; such a test reports nothing rather than a value
// encoding/json cannot write.
func finiteTest(lo, hi, p float64) (float64, float64, float64, bool) {
	for _, x := range [...]float64{lo, hi, p} {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return 0, 0, 0, false
		}
	}
	return lo, hi, p, true
}

// mixtureVariance returns τ², the variance of the normal mixture over the
// effect, for a per-visitor variance unitVar: ρ²·unitVar with
// ρ² = (-2 ln α + ln(1 - 2 ln α))/N*, which makes the confidence sequence
// narrowest at N* visitors per arm (Waudby-Smith et al., "Time-uniform
// central limit theory and asymptotic confidence sequences", 2023, the
// tuning GrowthBook uses).
func mixtureVariance(unitVar float64) float64 {
	l := -2 * math.Log(Alpha)
	return unitVar * (l + math.Log1p(l)) / SequentialTuning
}

// msprt returns the mixture sequential probability ratio of the normal
// mixture N(0, τ²) over the effect against no effect, for an estimate
// diff with variance v (Johari, Pekelis & Walsh, "Always Valid Inference:
// Continuous Monitoring of A/B Tests", Operations Research 70(3), 2022,
// the statistic of Optimizely's Stats Engine):
//
//	Λ = √(v/(v+τ²)) · exp(τ²·diff² / (2v(v+τ²)))
//
// Under no effect Λ is a nonnegative martingale with mean 1, so by Ville's
// inequality P(Λ ever ≥ 1/α) ≤ α: 1/Λ is a p-value valid at any stopping
// time, so it may be read every day and the experiment stopped at any look.
// It is each look's own value, not a running minimum: a day's p-value may
// rise again on a later day.
func msprt(diff, v, tau2 float64) float64 {
	return math.Sqrt(v/(v+tau2)) * math.Exp(tau2*diff*diff/(2*v*(v+tau2)))
}

// sequentialTest returns the always-valid p-value min(1, 1/Λ) of e and
// the 95% confidence sequence: the effects Λ would not reject,
// diff ± √(v(v+τ²)/τ² · (ln((v+τ²)/v) - 2 ln α)). ok is false, and there is
// no interval, when the variance is zero or the bounds are not finite.
func sequentialTest(e diffEstimate) (lo, hi, p float64, ok bool) {
	tau2 := mixtureVariance(e.unitVar)
	if !(tau2 > 0) || !(e.v > 0) {
		return 0, 0, 0, false
	}
	// In logs: exp overflows for a large effect long before 1/Λ reaches 0
	// in float64's eyes, and p underflows to 0 cleanly this way.
	logL := 0.5*math.Log(e.v/(e.v+tau2)) + tau2*e.diff*e.diff/(2*e.v*(e.v+tau2))
	p = math.Min(1, math.Exp(-logL))
	half := math.Sqrt(e.v * (e.v + tau2) / tau2 * (math.Log((e.v+tau2)/e.v) - 2*math.Log(Alpha)))
	return finiteTest(e.diff-half, e.diff+half, p)
}
