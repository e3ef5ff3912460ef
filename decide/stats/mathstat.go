package stats

import "math"

// z975 is the 97.5th percentile of the standard normal distribution, the
// half-width multiplier of a two-sided 95% interval.
const z975 = 1.959963984540054

// normalSF returns P(Z > z) for a standard normal Z. It uses Erfc rather
// than 1-Φ(z) so that tail probabilities keep their relative precision
// instead of cancelling to zero near z = 8.
func normalSF(z float64) float64 {
	return 0.5 * math.Erfc(z/math.Sqrt2)
}

// chiSquareSF returns P(X > x) for X chi-square distributed with df degrees
// of freedom: the regularized upper incomplete gamma Q(df/2, x/2).
func chiSquareSF(x float64, df int) float64 {
	if df <= 0 || math.IsNaN(x) {
		return math.NaN()
	}
	if x <= 0 {
		return 1
	}
	return gammaQ(float64(df)/2, x/2)
}

// gammaQ returns the regularized upper incomplete gamma function Q(a, x) for
// a > 0, x >= 0. It follows Numerical Recipes (Press et al., 3rd ed., §6.2):
// the power series for P converges fast when x < a+1, the continued fraction
// for Q (evaluated with the modified Lentz method) otherwise; each is used
// where it converges quickly and the other is taken as its complement.
func gammaQ(a, x float64) float64 {
	switch {
	case a <= 0 || x < 0 || math.IsNaN(a) || math.IsNaN(x):
		return math.NaN()
	case x == 0:
		return 1
	case math.IsInf(x, 1):
		return 0
	case x < a+1:
		return 1 - gammaPSeries(a, x)
	default:
		return gammaQContinuedFraction(a, x)
	}
}

const (
	gammaEps     = 1e-15
	gammaMaxIter = 1000
	gammaTiny    = 1e-300
)

// gammaPSeries evaluates P(a, x) by its series, NR gser.
func gammaPSeries(a, x float64) float64 {
	lg, _ := math.Lgamma(a)
	ap := a
	del := 1 / a
	sum := del
	for range gammaMaxIter {
		ap++
		del *= x / ap
		sum += del
		if math.Abs(del) < math.Abs(sum)*gammaEps {
			break
		}
	}
	return sum * math.Exp(-x+a*math.Log(x)-lg)
}

// awayFromZero keeps a modified-Lentz term off zero, where the next
// division would blow up.
func awayFromZero(v float64) float64 {
	if math.Abs(v) < gammaTiny {
		return gammaTiny
	}
	return v
}

// gammaQContinuedFraction evaluates Q(a, x) by its continued fraction, NR
// gcf, with the modified Lentz method.
func gammaQContinuedFraction(a, x float64) float64 {
	lg, _ := math.Lgamma(a)
	b := x + 1 - a
	c := 1 / gammaTiny
	d := 1 / b
	h := d
	for i := 1; i <= gammaMaxIter; i++ {
		an := -float64(i) * (float64(i) - a)
		b += 2
		d = an*d + b
		d = awayFromZero(d)
		c = b + an/c
		c = awayFromZero(c)
		d = 1 / d
		del := d * c
		h *= del
		if math.Abs(del-1) < gammaEps {
			break
		}
	}
	return math.Exp(-x+a*math.Log(x)-lg) * h
}

// comparison is the outcome of comparing a variant's conversion rate with
// the control's. A field is valid only when its ok flag is set: the formulas
// divide by counts that may be zero, and a report must carry no NaN or Inf.
type comparison struct {
	lift          float64
	liftOK        bool
	ciLow, ciHigh float64
	ciOK          bool
	pValue        float64
	pValueOK      bool
}

// compare computes the relative lift of the variant (xv converters out of nv
// visitors) over the control (xc out of nc), its 95% confidence interval and
// the two-sided p-value of the pooled two-proportion z-test.
//
// Lift is (pv - pc) / pc, the risk ratio minus one.
//
// The interval is the Katz log method for a ratio of two independent
// proportions (Katz, Baptista, Azen & Pike, Biometrics 34:469–474, 1978): the
// delta method gives Var(ln(pv/pc)) ≈ 1/xv - 1/nv + 1/xc - 1/nc, the interval
// ln(pv/pc) ± 1.96·√Var is exponentiated and 1 subtracted. Unlike a symmetric
// interval on the difference divided by pc, it accounts for pc's own
// sampling error and never reaches below -100%. It needs xv > 0 and xc > 0.
//
// The p-value is the pooled two-proportion z-test (e.g. Agresti, Categorical
// Data Analysis, §3.1): p = (xc+xv)/(nc+nv), SE = √(p(1-p)(1/nc+1/nv)),
// z = (pv-pc)/SE, p-value = P(|Z| > |z|). Pooling is what the null
// hypothesis of equal rates implies; the interval is not pooled, so near the
// 5% boundary the two can disagree.
func compare(xc, nc, xv, nv float64) comparison {
	var r comparison
	if nc <= 0 || nv <= 0 || xc < 0 || xv < 0 || xc > nc || xv > nv {
		return r
	}
	pc, pv := xc/nc, xv/nv
	if pc > 0 {
		r.lift, r.liftOK = (pv-pc)/pc, true
	}
	if xc > 0 && xv > 0 {
		v := 1/xv - 1/nv + 1/xc - 1/nc
		if v < 0 {
			v = 0 // rounding when both rates are 1
		}
		se := math.Sqrt(v)
		l := math.Log(pv / pc)
		r.ciLow, r.ciHigh, r.ciOK = math.Expm1(l-z975*se), math.Expm1(l+z975*se), true
	}
	p := (xc + xv) / (nc + nv)
	se := math.Sqrt(p * (1 - p) * (1/nc + 1/nv))
	if se > 0 {
		z := (pv - pc) / se
		r.pValue, r.pValueOK = 2*normalSF(math.Abs(z)), true
	}
	return r
}

// SRMThreshold is the p-value below which a campaign is flagged for sample
// ratio mismatch. It is deliberately far stricter than 0.05: the check runs
// on every campaign on every report, and a false alarm tells the operator to
// distrust a healthy experiment. 0.001 is the threshold recommended by
// Fabijan et al., "Diagnosing Sample Ratio Mismatch in Online Controlled
// Experiments", KDD 2019.
const SRMThreshold = 0.001

// sketchRelErr is the relative standard error of a HyperLogLog estimate with
// 2^14 registers, 1.04/√m (Flajolet et al., 2007).
const sketchRelErr = 1.04 / 128

// srmMinExpected is the smallest expected count per arm for which the
// chi-square approximation is trusted (the usual rule of five).
const srmMinExpected = 5

// srmTest compares observed visitor counts with the configured weights by
// Pearson's chi-square goodness-of-fit test with len(observed)-1 degrees of
// freedom. ok is false when the test cannot be run: fewer than two arms,
// non-positive weights, or an expected count below five.
//
// The observed counts are HyperLogLog estimates, whose own error (about 0.8%
// of each count) would swamp binomial noise beyond roughly 15,000 visitors
// and flag every large experiment. So each cell's variance is taken as
// e + (σ·e)², binomial plus sketch error, instead of e. Under no sketch
// error this is Pearson's statistic; with it the test is conservative: it
// still catches gross assignment bugs (a lost arm, a 55/45 split) but cannot
// see a mismatch smaller than the sketch's resolution.
func srmTest(observed, weights []float64) (chi2 float64, df int, p float64, ok bool) {
	if len(observed) < 2 || len(observed) != len(weights) {
		return 0, 0, 0, false
	}
	var n, w float64
	for i := range observed {
		if weights[i] <= 0 || math.IsNaN(weights[i]) || math.IsInf(weights[i], 0) {
			return 0, 0, 0, false
		}
		n += observed[i]
		w += weights[i]
	}
	for i := range observed {
		e := n * weights[i] / w
		if e < srmMinExpected {
			return 0, 0, 0, false
		}
		d := observed[i] - e
		chi2 += d * d / (e + sketchRelErr*sketchRelErr*e*e)
	}
	df = len(observed) - 1
	return chi2, df, chiSquareSF(chi2, df), true
}
