package stats

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

var revenueSpec = ExperimentSpec{
	Metrics:    []string{"revenue_per_visitor", "aov"},
	Guardrails: []string{"conversion"},
}

// simulate enrolls n visitors a day into each arm of campaign "hero" for
// days days; a control visitor converts with probability rate, a treatment
// visitor with treatRate, each conversion worth value. It returns the
// recorder.
func simulate(t *testing.T, c *clock, n, days int, rate, treatRate, value float64) *Recorder {
	t.Helper()
	r := NewRecorder(Config{Now: c.now})
	r.RegisterExperiment("hero", abSpecs, revenueSpec)
	rng := rand.New(rand.NewPCG(1, 2))
	for range days {
		for _, arm := range abSpecs {
			p := rate
			if !arm.Control {
				p = treatRate
			}
			for range n {
				pre := Covariate{}
				if rng.Float64() < 0.2 {
					pre = Covariate{Orders: 1, Revenue: value}
				}
				r.Enroll("hero", arm.Name, pre)
				if rng.Float64() < p {
					r.Outcome("hero", arm.Name, Outcome{Value: value, Pre: pre})
				}
			}
		}
		c.advance(24 * time.Hour)
	}
	return r
}

func metric(t *testing.T, v VariantReport, name string) MetricReport {
	t.Helper()
	for _, m := range v.Metrics {
		if m.Metric == name {
			return m
		}
	}
	t.Fatalf("variant %s has no metric %q: %+v", v.Variant, name, v.Metrics)
	return MetricReport{}
}

func TestReportMetrics(t *testing.T) {
	c := newClock()
	r := simulate(t, c, 500, 10, 0.10, 0.05, 40)
	cr := campaign(t, r.Report("n1"), "hero")
	if cr.Primary != "revenue_per_visitor" || cr.Analysis != "sequential" {
		t.Errorf("primary %q analysis %q, want revenue_per_visitor, sequential", cr.Primary, cr.Analysis)
	}
	ctl, trt := variant(t, cr, "control"), variant(t, cr, "treatment")
	if ctl.Enrolled != 5000 || trt.Enrolled != 5000 {
		t.Errorf("enrolled %d and %d, want 5000 each", ctl.Enrolled, trt.Enrolled)
	}
	var names []string
	for _, m := range trt.Metrics {
		names = append(names, m.Metric)
	}
	if got := strings.Join(names, ","); got != "revenue_per_visitor,aov,conversion" {
		t.Errorf("metrics %s, want revenue_per_visitor,aov,conversion", got)
	}
	rpv := metric(t, trt, "revenue_per_visitor")
	conv := metric(t, trt, "conversion")
	aov := metric(t, trt, "aov")
	switch {
	case !rpv.Primary || rpv.Guardrail || !conv.Guardrail:
		t.Errorf("flags: rpv %+v conversion %+v", rpv, conv)
	case rpv.Value == nil || math.Abs(*rpv.Value-2) > 0.4:
		t.Errorf("treatment revenue per visitor %v, want about 0.05·40 = 2", rpv.Value)
	case aov.Value == nil || math.Abs(*aov.Value-40) > 1e-9:
		t.Errorf("aov %v, want 40 (every order is worth 40)", aov.Value)
	case rpv.Difference == nil || rpv.CI95 == nil || rpv.PValue == nil || rpv.FixedCI95 == nil || rpv.DF == nil:
		t.Errorf("revenue comparison incomplete: %+v", rpv)
	case !rpv.Significant || !rpv.Worse || *rpv.Difference > 0:
		t.Errorf("a halved conversion rate should be significantly worse in revenue: %+v", rpv)
	case !conv.Worse || !cr.GuardrailAlert || strings.Join(trt.GuardrailWorse, ",") != "conversion":
		t.Errorf("guardrail not flagged: conversion %+v, alert %v, worse %v", conv, cr.GuardrailAlert, trt.GuardrailWorse)
	case rpv.CUPED == nil:
		t.Errorf("no CUPED with a varying covariate: %+v", rpv)
	case rpv.CI95.High-rpv.CI95.Low <= rpv.FixedCI95.High-rpv.FixedCI95.Low:
		t.Errorf("confidence sequence %+v not wider than the fixed interval %+v", rpv.CI95, rpv.FixedCI95)
	case aov.DF != nil || aov.CUPED != nil:
		t.Errorf("aov is a ratio: no df, no CUPED: %+v", aov)
	}
	if m := metric(t, ctl, "revenue_per_visitor"); m.Difference != nil || m.Value == nil {
		t.Errorf("the baseline has a value and no comparison: %+v", m)
	}

	if len(trt.Daily) != 10 {
		t.Fatalf("%d days, want 10", len(trt.Daily))
	}
	first, last := trt.Daily[0], trt.Daily[9]
	if first.Day != "2026-11-23" || first.Enrolled != 500 || last.Day != "2026-12-02" || last.Enrolled != 5000 {
		t.Errorf("daily series: first %+v last %+v", first, last)
	}
	if last.Converters != uint64(math.Round(*conv.Value*5000)) || last.PrimaryDifference == nil || *last.PrimaryDifference != *rpv.Difference {
		t.Errorf("the last day is not the totals: %+v, totals %+v", last, rpv)
	}
	if first.ConversionCI95 == nil || first.ConversionCI95.Low > *first.ConversionRate || first.ConversionCI95.High < *first.ConversionRate {
		t.Errorf("first day's rate %v outside its interval %+v", first.ConversionRate, first.ConversionCI95)
	}
	if w0, w9 := first.PrimaryCI95.High-first.PrimaryCI95.Low, last.PrimaryCI95.High-last.PrimaryCI95.Low; w9 >= w0 {
		t.Errorf("the interval did not narrow over ten days: %v then %v", w0, w9)
	}
}

func TestReportFixedAnalysis(t *testing.T) {
	c := newClock()
	r := NewRecorder(Config{Now: c.now})
	r.RegisterExperiment("hero", abSpecs, ExperimentSpec{Analysis: "fixed", NoCUPED: true})
	for i := range 400 {
		arm := abSpecs[i%2].Name
		pre := Covariate{Orders: float64(i % 3)}
		r.Enroll("hero", arm, pre)
		if i%7 == 0 {
			r.Outcome("hero", arm, Outcome{Value: 10, Pre: pre})
		}
	}
	cr := campaign(t, r.Report("n1"), "hero")
	m := metric(t, variant(t, cr, "treatment"), "conversion")
	if cr.Analysis != "fixed" || m.CUPED != nil || m.PValue == nil || *m.PValue != *m.FixedPValue || *m.CI95 != *m.FixedCI95 {
		t.Errorf("fixed analysis without CUPED: analysis %q, %+v", cr.Analysis, m)
	}
}

// TestDailyKeepsNinetyDays checks that the series is bounded and that the
// cumulative values of the days kept stay exact when older days are gone.
func TestDailyKeepsNinetyDays(t *testing.T) {
	c := newClock()
	r := NewRecorder(Config{Now: c.now})
	r.Register("hero", abSpecs)
	for d := range 100 {
		for _, arm := range abSpecs {
			r.Enroll("hero", arm.Name, Covariate{})
			r.Enroll("hero", arm.Name, Covariate{})
			r.Outcome("hero", arm.Name, Outcome{Value: float64(d)})
		}
		c.advance(24 * time.Hour)
	}
	c.advance(-24 * time.Hour) // still the last day
	st := r.State("n1")
	if n := len(st.Campaigns[0].Variants[0].Daily); n != DailyDays {
		t.Errorf("state holds %d days, want %d", n, DailyDays)
	}
	trt := variant(t, campaign(t, Merge(st), "hero"), "treatment")
	if len(trt.Daily) != DailyDays {
		t.Fatalf("%d days reported, want %d", len(trt.Daily), DailyDays)
	}
	first := trt.Daily[0] // day 10: 11 days of 2 visitors
	if first.Enrolled != 22 || first.Converters != 11 || first.Revenue != 55 {
		t.Errorf("first kept day %+v, want 22 enrolled, 11 converters, revenue 0+…+10 = 55", first)
	}
	if last := trt.Daily[DailyDays-1]; last.Enrolled != 200 {
		t.Errorf("last day %+v, want 200 enrolled", last)
	}
}

func TestMomentsStateRoundTrip(t *testing.T) {
	c := newClock()
	r := simulate(t, c, 50, 3, 0.2, 0.2, 15)
	data, err := json.Marshal(r.State("n1"))
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"moments":`, `"daily":`, `"experiment":`, `"metrics":`, `"guardrails":`, `"revenue_sq":`, `"day":"2026-11-23"`} {
		if !strings.Contains(string(data), key) {
			t.Errorf("state JSON lacks %s", key)
		}
	}
	st, err := DecodeNodeState(data)
	if err != nil {
		t.Fatal(err)
	}
	restored := NewRecorder(Config{Now: c.now})
	if err := restored.Restore(st); err != nil {
		t.Fatal(err)
	}
	restored.RegisterExperiment("hero", abSpecs, revenueSpec)
	want, _ := json.Marshal(Merge(r.State("n1")))
	got, _ := json.Marshal(Merge(restored.State("n1")))
	if string(got) != string(want) {
		t.Errorf("restored report differs:\n got %s\nwant %s", got, want)
	}
}

// TestOldStateReadable decodes a state saved before metrics existed: it
// restores with no enrollments and reports no metrics.
func TestOldStateReadable(t *testing.T) {
	old := `{"node":"n1","started":"2026-11-20T12:00:00Z","at":"2026-11-23T12:00:00Z","campaigns":[{"campaign":"hero","configured":true,` +
		`"variants":[{"name":"control","weight":0.5,"control":true,"exposures":10,"conversions":2},{"name":"treatment","weight":0.5,"exposures":12,"conversions":3}]}]}`
	st, err := DecodeNodeState([]byte(old))
	if err != nil {
		t.Fatalf("old state: %v", err)
	}
	r := NewRecorder(Config{Now: newClock().now})
	if err := r.Restore(st); err != nil {
		t.Fatal(err)
	}
	v := variant(t, campaign(t, r.Report("n1"), "hero"), "treatment")
	if v.Exposures != 12 || v.Enrolled != 0 || v.Metrics != nil || v.Daily != nil {
		t.Errorf("restored old state: %+v", v)
	}
}

// TestMergeMoments checks the G-counter semantics of Moments: two nodes
// add, a node's older snapshot beside its newer one counts once.
func TestMergeMoments(t *testing.T) {
	c := newClock()
	a := NewRecorder(Config{Now: c.now})
	b := NewRecorder(Config{Now: c.now})
	a.Register("hero", abSpecs)
	b.Register("hero", abSpecs)
	a.Enroll("hero", "control", Covariate{})
	a.Enroll("hero", "treatment", Covariate{})
	old := a.State("a")
	c.advance(time.Minute)
	a.Enroll("hero", "control", Covariate{})
	a.Outcome("hero", "control", Outcome{Value: 5})
	b.Enroll("hero", "control", Covariate{Orders: 1, Revenue: 3})
	rep := Merge(old, a.State("a"), b.State("b"), old)
	v := variant(t, campaign(t, rep, "hero"), "control")
	if v.Enrolled != 3 || len(v.Daily) != 1 || v.Daily[0].Enrolled != 3 || v.Daily[0].Revenue != 5 {
		t.Errorf("merged control %+v, want 3 enrolled and revenue 5 on one day", v)
	}
}

func TestDecodeMomentsValidation(t *testing.T) {
	tests := []struct {
		name, variant string
	}{
		{"negative sum", `"moments":{"n":-1}`},
		{"bad day", `"daily":[{"day":"23/11/2026","n":1}]`},
		{"negative day sum", `"daily":[{"day":"2026-11-23","revenue":-5}]`},
	}
	for _, tt := range tests {
		in := `{"node":"n","campaigns":[{"campaign":"c","variants":[{"name":"v",` + tt.variant + `}]}]}`
		if _, err := DecodeNodeState([]byte(in)); err == nil {
			t.Errorf("%s: decoded %s", tt.name, in)
		}
	}
}

func TestExperimentSpecPlan(t *testing.T) {
	tests := []struct {
		spec    ExperimentSpec
		metrics string
		primary Metric
	}{
		{ExperimentSpec{}, "conversion", MetricConversion},
		{ExperimentSpec{Metrics: []string{"aov", "conversion"}}, "aov,conversion", MetricAOV},
		{ExperimentSpec{Metrics: []string{"aov", "conversion"}, Primary: "conversion"}, "aov,conversion", MetricConversion},
		{ExperimentSpec{Metrics: []string{"future_metric", "revenue_per_visitor"}, Guardrails: []string{"revenue_per_visitor", "aov"}}, "revenue_per_visitor,aov", MetricRevenue},
		{ExperimentSpec{Guardrails: []string{"orders_per_visitor"}}, "conversion,orders_per_visitor", MetricConversion},
	}
	for _, tt := range tests {
		p := tt.spec.plan()
		var names []string
		for _, m := range p.metrics {
			names = append(names, m.String())
		}
		if got := strings.Join(names, ","); got != tt.metrics || p.primary != tt.primary {
			t.Errorf("%+v: metrics %s primary %v, want %s and %v", tt.spec, got, p.primary, tt.metrics, tt.primary)
		}
	}
	for _, m := range []Metric{-1, metricCount} {
		if s := m.String(); !strings.HasPrefix(s, "metric(") {
			t.Errorf("Metric(%d).String() = %q", m, s)
		}
	}
}

func TestMetricReportJSONFields(t *testing.T) {
	c := newClock()
	data, err := json.Marshal(simulate(t, c, 500, 3, 0.10, 0.05, 40).Report("n1"))
	if err != nil {
		t.Fatal(err)
	}
	// Scripts and the dashboard read these names (README, Admin API).
	for _, key := range []string{"primary", "analysis", "guardrail_alert", "enrolled", "metrics", "metric", "guardrail", "value",
		"difference", "lift", "ci95", "p_value", "fixed_ci95", "fixed_p_value", "df", "cuped", "theta", "variance_reduction",
		"significant", "worse", "guardrail_worse", "daily", "day", "converters", "conversion_rate", "conversion_ci95", "revenue",
		"revenue_per_visitor", "revenue_per_visitor_ci95", "primary_difference", "primary_ci95", "primary_p_value"} {
		if !strings.Contains(string(data), `"`+key+`":`) {
			t.Errorf("report JSON lacks %q", key)
		}
	}
}

// TestDailyHasNoRoundoff: a day before any revenue reports exactly none,
// though the later days' values have no exact binary form.
func TestDailyHasNoRoundoff(t *testing.T) {
	c := newClock()
	r := NewRecorder(Config{Now: c.now})
	r.Register("hero", abSpecs)
	r.Enroll("hero", "treatment", Covariate{})
	for range 3 {
		c.advance(24 * time.Hour)
		for range 7 {
			r.Enroll("hero", "treatment", Covariate{Revenue: 0.1})
			r.Outcome("hero", "treatment", Outcome{Value: 0.1, Pre: Covariate{Revenue: 0.1}})
		}
	}
	d := variant(t, campaign(t, r.Report("n1"), "hero"), "treatment").Daily
	if len(d) != 4 || d[0].Revenue != 0 || d[0].Converters != 0 || d[0].Enrolled != 1 {
		t.Errorf("first day %+v of %d, want 1 enrolled and exactly no revenue", d[0], len(d))
	}
}
