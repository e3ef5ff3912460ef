package stats

import (
	"math"
	"slices"
)

// MetricReport is one metric of one variant and, for a variant other than
// the baseline, its comparison with the baseline. Fields that cannot be
// computed (fewer than two enrolled visitors in an arm, no orders for aov,
// no variance) are omitted.
type MetricReport struct {
	// Metric is the metric's name: conversion, orders_per_visitor,
	// revenue_per_visitor or aov.
	Metric string `json:"metric"`
	// Primary marks the metric the experiment is decided on.
	Primary bool `json:"primary,omitempty"`
	// Guardrail marks a metric that must not get worse.
	Guardrail bool `json:"guardrail,omitempty"`
	// Value is the variant's mean per enrolled visitor; for aov, its
	// credited value over its credited conversions.
	Value *float64 `json:"value,omitempty"`
	// Difference is Value minus the baseline's Value, CUPED-adjusted when
	// CUPED is present.
	Difference *float64 `json:"difference,omitempty"`
	// Lift is Difference over the baseline's Value.
	Lift *float64 `json:"lift,omitempty"`
	// CI95 is the 95% interval of Difference by the campaign's analysis:
	// the confidence sequence (sequential; valid whenever it is read) or
	// Welch's interval (fixed).
	CI95 *Interval `json:"ci95,omitempty"`
	// PValue is the two-sided p-value of no difference by the campaign's
	// analysis: the always-valid mSPRT p-value (sequential) or Welch's
	// (fixed).
	PValue *float64 `json:"p_value,omitempty"`
	// FixedCI95 and FixedPValue are Welch's interval and p-value (normal
	// for aov), valid only when read once at a sample size fixed in
	// advance; reported in sequential mode too, for comparison.
	FixedCI95   *Interval `json:"fixed_ci95,omitempty"`
	FixedPValue *float64  `json:"fixed_p_value,omitempty"`
	// DF is the Welch–Satterthwaite degrees of freedom of FixedCI95;
	// omitted for aov, which is tested on the normal scale.
	DF *float64 `json:"df,omitempty"`
	// CUPED describes the variance reduction applied, when it was.
	CUPED *CUPEDReport `json:"cuped,omitempty"`
	// Significant is true when PValue is below 0.05.
	Significant bool `json:"significant,omitempty"`
	// Worse is true when all of CI95 lies below zero: the variant is
	// significantly worse on this metric.
	Worse bool `json:"worse,omitempty"`
}

// CUPEDReport describes a CUPED adjustment.
type CUPEDReport struct {
	// Theta is the coefficient of the pre-period covariate,
	// Cov(x, y)/Var(x) over both arms.
	Theta float64 `json:"theta"`
	// VarianceReduction is 1 - Var(adjusted difference)/Var(plain
	// difference): the share of variance the covariate removed.
	VarianceReduction float64 `json:"variance_reduction"`
}

// DayReport is a variant's cumulative results at the end of one day, for
// a chart of results over time.
type DayReport struct {
	// Day is the date, YYYY-MM-DD, in the node's time_zone.
	Day string `json:"day"`
	// Enrolled counts visitors enrolled up to the end of Day.
	Enrolled uint64 `json:"enrolled"`
	// Converters counts those with a credited conversion.
	Converters uint64 `json:"converters"`
	// ConversionRate is Converters / Enrolled.
	ConversionRate *float64 `json:"conversion_rate,omitempty"`
	// ConversionCI95 is the Wilson score interval of ConversionRate.
	ConversionCI95 *Interval `json:"conversion_ci95,omitempty"`
	// Revenue is the credited purchase value.
	Revenue float64 `json:"revenue"`
	// RevenuePerVisitor is Revenue / Enrolled.
	RevenuePerVisitor *float64 `json:"revenue_per_visitor,omitempty"`
	// RevenuePerVisitorCI95 is the t interval of RevenuePerVisitor.
	RevenuePerVisitorCI95 *Interval `json:"revenue_per_visitor_ci95,omitempty"`
	// PrimaryDifference, PrimaryCI95 and PrimaryPValue compare the primary
	// metric with the baseline as it stood at the end of Day, by the
	// campaign's analysis; omitted for the baseline.
	PrimaryDifference *float64  `json:"primary_difference,omitempty"`
	PrimaryCI95       *Interval `json:"primary_ci95,omitempty"`
	PrimaryPValue     *float64  `json:"primary_p_value,omitempty"`
}

// metricValue returns the variant's value of metric from its totals.
func metricValue(metric Metric, m Moments) (float64, bool) {
	if metric.ratio() {
		if m.Orders <= 0 {
			return 0, false
		}
		return m.Revenue / m.Orders, true
	}
	s := m.sumsOf(metric)
	if s.n <= 0 {
		return 0, false
	}
	return s.y / s.n, true
}

// estimateMetric compares metric between the baseline and a variant.
func estimateMetric(metric Metric, base, alt Moments, cuped bool) (diffEstimate, bool) {
	if metric.ratio() {
		return ratioEstimate(base, alt)
	}
	return meanEstimate(base.sumsOf(metric), alt.sumsOf(metric), cuped)
}

// test runs e through the analysis; ok is false when it gives no finite
// interval and p-value.
func (a Analysis) test(e diffEstimate) (lo, hi, p float64, ok bool) {
	if a == AnalysisFixed {
		return fixedTest(e)
	}
	return sequentialTest(e)
}

// sub removes o from m: the Moments without a day's.
func (m *Moments) sub(o Moments) {
	for _, f := range o.fields() {
		*f = -*f
	}
	m.add(o)
}

// dropRoundoff zeroes the fields of m, a difference of sums, that are
// only floating-point residue of total's: so that a day before any visitor
// reports 0 revenue, not 1e-14.
func (m *Moments) dropRoundoff(total Moments) {
	mf, tf := m.fields(), total.fields()
	for i, f := range mf {
		if math.Abs(*f) <= 1e-9*math.Max(1, math.Abs(*tf[i])) {
			*f = 0
		}
	}
}

// fields returns pointers to every field of m, in declaration order.
func (m *Moments) fields() [15]*float64 {
	return [...]*float64{&m.N, &m.PreBuyers, &m.PreOrders, &m.PreOrdersSq, &m.PreRevenue, &m.PreRevenueSq,
		&m.Converters, &m.ConvertersPre, &m.Orders, &m.OrdersSq, &m.OrdersPre, &m.Revenue, &m.RevenueSq, &m.RevenuePre, &m.RevenueOrders}
}

// reportMetrics fills the metrics and daily series of cr, whose variants
// are named by order, against the variant at index baseline (-1: none).
func (mc *mergedCampaign) reportMetrics(cr *CampaignReport, order []string, baseline int) {
	totals := make([]Moments, len(order))
	daily := make([]map[int32]Moments, len(order))
	var days []int32
	enrolled := false
	for i, v := range order {
		mv := mc.variants[v]
		if mv == nil {
			continue
		}
		daily[i] = map[int32]Moments{}
		for _, nm := range mv.moments {
			totals[i].add(nm.total)
			for _, d := range nm.daily {
				day, err := parseDay(d.Day)
				if err != nil {
					continue
				}
				m := daily[i][day]
				m.add(d.Moments)
				daily[i][day] = m
				days = append(days, day)
			}
		}
		enrolled = enrolled || totals[i].N > 0
	}
	if !enrolled {
		return
	}
	slices.Sort(days)
	days = slices.Compact(days)
	if len(days) > DailyDays {
		days = days[len(days)-DailyDays:]
	}
	// cum[i][k] is variant i's totals at the end of days[k]: what the
	// days kept do not hold (the days dropped, if any), plus the days up to
	// days[k]. The last day is the totals themselves.
	cum := make([][]Moments, len(order))
	for i := range order {
		cum[i] = make([]Moments, len(days))
		run := totals[i]
		for _, d := range days {
			run.sub(daily[i][d])
		}
		run.dropRoundoff(totals[i])
		for k, d := range days {
			run.add(daily[i][d])
			cum[i][k] = run
		}
		if len(days) > 0 {
			cum[i][len(days)-1] = totals[i]
		}
	}

	plan := mc.exp.plan()
	cr.Primary, cr.Analysis = plan.primary.String(), plan.analysis.String()
	// A variant whose sums overflowed float64 (absurd purchase values)
	// reports its enrollment only: its metrics would be Inf or NaN, which
	// JSON cannot carry, and no comparison with it means anything.
	usable := func(i int) bool { return i >= 0 && totals[i].valid() }
	for i := range order {
		vr := &cr.Variants[i]
		vr.Enrolled = uint64(math.Round(totals[i].N))
		for _, m := range plan.metrics {
			r := MetricReport{Metric: m.String(), Primary: m == plan.primary, Guardrail: plan.guardrail[m]}
			if !usable(i) {
				vr.Metrics = append(vr.Metrics, r)
				continue
			}
			if v, ok := metricValue(m, totals[i]); ok && finite(v) {
				r.Value = &v
			}
			if usable(baseline) && i != baseline {
				compareMetric(&r, m, plan, totals[baseline], totals[i])
				if r.Guardrail && r.Worse {
					vr.GuardrailWorse = append(vr.GuardrailWorse, r.Metric)
					cr.GuardrailAlert = true
				}
			}
			vr.Metrics = append(vr.Metrics, r)
		}
		if !usable(i) {
			continue
		}
		for k, day := range days {
			dr := dayReport(day, cum[i][k])
			if usable(baseline) && i != baseline {
				if e, ok := estimateMetric(plan.primary, cum[baseline][k], cum[i][k], plan.cuped); ok {
					if lo, hi, p, ok := plan.analysis.test(e); ok {
						dr.PrimaryDifference, dr.PrimaryCI95, dr.PrimaryPValue = &e.diff, &Interval{Low: lo, High: hi}, &p
					}
				}
			}
			vr.Daily = append(vr.Daily, dr)
		}
	}
}

// compareMetric fills r's comparison of alt with base.
func compareMetric(r *MetricReport, m Metric, plan metricPlan, base, alt Moments) {
	e, ok := estimateMetric(m, base, alt, plan.cuped)
	if !ok || !finite(e.diff) {
		return
	}
	r.Difference = &e.diff
	if b, ok := metricValue(m, base); ok && b > 0 {
		if lift := e.diff / b; finite(lift) {
			r.Lift = &lift
		}
	}
	if flo, fhi, fp, ok := fixedTest(e); ok {
		r.FixedCI95, r.FixedPValue = &Interval{Low: flo, High: fhi}, &fp
		if finite(e.df) {
			df := e.df
			r.DF = &df
		}
	}
	if e.cuped && finite(e.theta) && finite(e.reduction) {
		r.CUPED = &CUPEDReport{Theta: e.theta, VarianceReduction: e.reduction}
	}
	lo, hi, p, ok := plan.analysis.test(e)
	if !ok {
		return
	}
	r.CI95, r.PValue = &Interval{Low: lo, High: hi}, &p
	r.Significant = p < Alpha
	r.Worse = hi < 0
}

// finite reports whether x is neither infinite nor NaN.
func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

// dayReport is one variant's cumulative results c at the end of day.
func dayReport(day int32, c Moments) DayReport {
	dr := DayReport{Day: dayString(day), Enrolled: uint64(math.Round(c.N)), Converters: uint64(math.Round(c.Converters)), Revenue: c.Revenue}
	if c.N <= 0 {
		return dr
	}
	rate := math.Min(c.Converters/c.N, 1)
	lo, hi := wilson(rate, c.N)
	dr.ConversionRate, dr.ConversionCI95 = &rate, &Interval{Low: lo, High: hi}
	rpv := c.Revenue / c.N
	dr.RevenuePerVisitor = &rpv
	if v, ok := sampleVar(c.N, c.Revenue, c.RevenueSq); ok {
		half := studentTQuantile(Alpha/2, c.N-1) * math.Sqrt(v/c.N)
		if finite(rpv-half) && finite(rpv+half) {
			dr.RevenuePerVisitorCI95 = &Interval{Low: rpv - half, High: rpv + half}
		}
	}
	return dr
}

// wilson returns the 95% Wilson score interval of a proportion p observed
// in n trials (Wilson, JASA 22:209–212, 1927): unlike p ± 1.96·SE it stays
// within [0, 1] and is not empty at p = 0.
func wilson(p, n float64) (lo, hi float64) {
	z2 := z975 * z975
	den := 1 + z2/n
	mid := (p + z2/(2*n)) / den
	half := z975 * math.Sqrt(p*(1-p)/n+z2/(4*n*n)) / den
	return math.Max(0, mid-half), math.Min(1, mid+half)
}
