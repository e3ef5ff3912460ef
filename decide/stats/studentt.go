package stats

import "math"

// studentTSF returns P(T > t) for T Student-t distributed with df degrees
// of freedom (df > 0, not necessarily whole, as Welch's df is not). It uses
// the identity P(|T| > t) = I_{df/(df+t²)}(df/2, 1/2), the regularized
// incomplete beta function (Abramowitz & Stegun 26.7.1).
func studentTSF(t, df float64) float64 {
	switch {
	case df <= 0 || math.IsNaN(t) || math.IsNaN(df):
		return math.NaN()
	case math.IsInf(df, 1):
		return normalSF(t)
	}
	tail := 0.5 * betaI(df/2, 0.5, df/(df+t*t))
	if t < 0 {
		return 1 - tail
	}
	return tail
}

// studentTQuantile returns the t with P(T > t) = p for 0 < p < 1. Newton's
// method from the normal quantile: for p < ½ the survival function is
// convex and decreasing beyond 0, so every step from the left of the root
// stays left of it and the iteration climbs to it monotonically (a few
// steps, more for df near 1 where the tails are heavy). It stops at 1e-11
// relative: for large df the survival function itself is no finer.
func studentTQuantile(p, df float64) float64 {
	if p <= 0 || p >= 1 || df <= 0 || math.IsNaN(p) || math.IsNaN(df) {
		return math.NaN()
	}
	if math.IsInf(df, 1) || df > 1e7 {
		return normalQuantileUpper(p)
	}
	if p > 0.5 {
		return -studentTQuantile(1-p, df)
	}
	lg1, _ := math.Lgamma((df + 1) / 2)
	lg2, _ := math.Lgamma(df / 2)
	logNorm := lg1 - lg2 - 0.5*math.Log(df*math.Pi)
	t := math.Min(normalQuantileUpper(p), 1)
	for range 100 {
		pdf := math.Exp(logNorm - (df+1)/2*math.Log1p(t*t/df))
		step := (studentTSF(t, df) - p) / pdf
		t += step
		if math.Abs(step) <= 1e-11*math.Max(1, t) {
			break
		}
	}
	return t
}

// normalQuantileUpper returns z with P(Z > z) = p.
func normalQuantileUpper(p float64) float64 {
	return math.Sqrt2 * math.Erfcinv(2*p)
}

// betaI returns the regularized incomplete beta function I_x(a, b) for
// a, b > 0 and 0 <= x <= 1, by the continued fraction of Numerical Recipes
// (Press et al., 3rd ed., §6.4, betai and betacf), taken directly where it
// converges fast (x < (a+1)/(a+b+2)) and through the symmetry
// I_x(a,b) = 1 - I_{1-x}(b,a) elsewhere.
func betaI(a, b, x float64) float64 {
	switch {
	case a <= 0 || b <= 0 || x < 0 || x > 1 || math.IsNaN(x):
		return math.NaN()
	case x == 0:
		return 0
	case x == 1:
		return 1
	}
	la, _ := math.Lgamma(a + b)
	lb, _ := math.Lgamma(a)
	lc, _ := math.Lgamma(b)
	front := math.Exp(la - lb - lc + a*math.Log(x) + b*math.Log1p(-x))
	if x < (a+1)/(a+b+2) {
		return front * betaCF(a, b, x) / a
	}
	return 1 - front*betaCF(b, a, 1-x)/b
}

// betaCF evaluates the continued fraction of the incomplete beta function
// by the modified Lentz method, NR betacf.
func betaCF(a, b, x float64) float64 {
	qab, qap, qam := a+b, a+1, a-1
	c := 1.0
	d := awayFromZero(1 - qab*x/qap)
	d = 1 / d
	h := d
	for m := 1; m <= gammaMaxIter; m++ {
		fm := float64(m)
		m2 := 2 * fm
		aa := fm * (b - fm) * x / ((qam + m2) * (a + m2))
		d = 1 + aa*d
		d = awayFromZero(d)
		c = 1 + aa/c
		c = awayFromZero(c)
		d = 1 / d
		h *= d * c
		aa = -(a + fm) * (qab + fm) * x / ((a + m2) * (qap + m2))
		d = 1 + aa*d
		d = awayFromZero(d)
		c = 1 + aa/c
		c = awayFromZero(c)
		d = 1 / d
		del := d * c
		h *= del
		if math.Abs(del-1) < gammaEps {
			break
		}
	}
	return h
}
