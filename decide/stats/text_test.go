package stats

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func ptr(f float64) *float64 { return &f }

func TestWriteText(t *testing.T) {
	at := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	rep := Report{
		GeneratedAt: at,
		Nodes:       []NodeInfo{{Node: "a", Started: at, At: at}, {Node: "b", Started: at, At: at}},
		Campaigns: []CampaignReport{{
			Campaign: "hero",
			Baseline: "control",
			Variants: []VariantReport{
				{Variant: "control", Weight: 0.45, Control: true, Exposures: 1500, UniqueVisitors: 1000, Converters: 100, Conversions: 120, ConversionRate: ptr(0.1)},
				{Variant: "sale", Weight: 0.45, Exposures: 1400, UniqueVisitors: 1000, Converters: 130, Conversions: 150, ConversionRate: ptr(0.13),
					Lift: ptr(0.3), LiftCI95: &Interval{0.01698, 0.66178}, PValue: ptr(0.03549)},
				{Variant: "holdout", Weight: 0.1, Holdout: true},
			},
			SRM:     true,
			SRMTest: &SRMTest{ChiSquare: 75.2, DF: 2, PValue: 1e-17, Threshold: SRMThreshold},
		}, {
			Campaign: "quiet",
			Variants: []VariantReport{{Variant: "only", Weight: 1}},
			Note:     NoteOneArm,
		}, {
			Campaign: "no-control",
			Variants: []VariantReport{{Variant: "a", Weight: 1}, {Variant: "b", Weight: 1}},
			Note:     NoteNoBaseline,
		}},
	}
	var b strings.Builder
	if err := WriteText(&b, rep); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"statistics at 2026-11-23T12:00:00Z from 2 nodes",
		"campaign hero: SAMPLE RATIO MISMATCH (chi-square 75.2, df 2, p <0.0001)",
		"control (baseline)  45.0%",
		"+30.0% [+1.7%, +66.2%]",
		"0.0355",
		"13.00%",
		"holdout (holdout)",
		"campaign quiet: one arm, no control or holdout: exposures and conversions only, no lift or split check\n",
		"campaign no-control: split not checked (too few visitors or weights); no control or holdout to measure lift against\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "NaN") || strings.Contains(out, "Inf") {
		t.Errorf("output has a non-number:\n%s", out)
	}
}

func TestWriteTextEmpty(t *testing.T) {
	tests := []struct {
		name string
		rep  Report
		want string
	}{
		{"no states", Report{}, "no statistics yet"},
		{"no campaigns", Report{GeneratedAt: time.Unix(0, 0), Nodes: []NodeInfo{{Node: "a"}}}, "no campaigns recorded"},
	}
	for _, tt := range tests {
		var b strings.Builder
		if err := WriteText(&b, tt.rep); err != nil || !strings.Contains(b.String(), tt.want) {
			t.Errorf("%s: got %q, %v; want %q", tt.name, b.String(), err, tt.want)
		}
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestWriteTextError(t *testing.T) {
	rep := Report{GeneratedAt: time.Unix(0, 0), Nodes: []NodeInfo{{Node: "a"}}, Campaigns: []CampaignReport{{Campaign: "c", Variants: []VariantReport{{Variant: "v"}}}}}
	if err := WriteText(failWriter{}, rep); err == nil {
		t.Error("WriteText to a failing writer: nil error")
	}
}

func TestWriteTextMetrics(t *testing.T) {
	c := newClock()
	r := simulate(t, c, 500, 10, 0.10, 0.05, 40)
	var b strings.Builder
	if err := WriteText(&b, r.Report("n1")); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"metrics per enrolled visitor, sequential analysis (always-valid p-values and 95% confidence sequences: read any day); primary revenue_per_visitor",
		"VARIANT    METRIC                         ENROLLED  VALUE   DIFFERENCE [95% CI]",
		"control    aov                            5000      40 ",
		"treatment  revenue_per_visitor (primary)  5000      2.064   -2.035 [-2.68, -1.391]       -49.6%  <0.0001         CUPED -0.0% variance; worse",
		// The main table judges by the primary metric, always-valid.
		"ENROLLED  REVENUE_PER_VISITOR  DIFFERENCE [95% CONFIDENCE SEQUENCE]  LIFT    ALWAYS-VALID P  RESULT",
		"-2.035 [-2.68, -1.391]                -49.6%  <0.0001         worse",
		"treatment  conversion (guardrail)",
		"GUARDRAIL WORSE",
		"GUARDRAIL: treatment is significantly worse on conversion",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// TestWriteTextPrimaryDecides checks that a campaign with experiment
// metrics is judged in the main table by its primary metric, by the
// campaign's analysis, and that the legacy fixed-horizon lift and p-value
// of the visitor estimates are not shown: read daily, they would flag
// false positives the sequential analysis exists to prevent.
func TestWriteTextPrimaryDecides(t *testing.T) {
	at := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	campaign := func(analysis string) CampaignReport {
		return CampaignReport{
			Campaign: "hero", Baseline: "control", Primary: "conversion", Analysis: analysis,
			Variants: []VariantReport{
				{Variant: "control", Weight: 0.5, Control: true, UniqueVisitors: 1000, Converters: 100, ConversionRate: ptr(0.1), Enrolled: 990,
					Metrics: []MetricReport{{Metric: "conversion", Primary: true, Value: ptr(0.1)}}},
				{Variant: "sale", Weight: 0.5, UniqueVisitors: 1000, Converters: 130, ConversionRate: ptr(0.13), Enrolled: 995,
					// The legacy z-test calls it significant; the primary
					// metric's analysis does not.
					Lift: ptr(0.3), LiftCI95: &Interval{0.01698, 0.66178}, PValue: ptr(0.03549),
					Metrics: []MetricReport{{Metric: "conversion", Primary: true, Value: ptr(0.13), Difference: ptr(0.03),
						Lift: ptr(0.3), CI95: &Interval{-0.01, 0.07}, PValue: ptr(0.2468)}}},
			},
		}
	}
	tests := []struct {
		analysis string
		want     []string
	}{
		{"sequential", []string{"CONVERSION  DIFFERENCE [95% CONFIDENCE SEQUENCE]  LIFT    ALWAYS-VALID P  RESULT",
			"+0.03 [-0.01, +0.07]", "0.2468          not significant", "baseline"}},
		{"fixed", []string{"DIFFERENCE [95% CI, FIXED HORIZON]", "P (FIXED HORIZON)", "0.2468"}},
	}
	for _, tt := range tests {
		var b strings.Builder
		rep := Report{GeneratedAt: at, Nodes: []NodeInfo{{Node: "a", Started: at, At: at}}, Campaigns: []CampaignReport{campaign(tt.analysis)}}
		if err := WriteText(&b, rep); err != nil {
			t.Fatal(err)
		}
		out := b.String()
		for _, want := range tt.want {
			if !strings.Contains(out, want) {
				t.Errorf("%s: output lacks %q:\n%s", tt.analysis, want, out)
			}
		}
		for _, legacy := range []string{"0.0355", "+1.7%", "LIFT [95% CI]", "P-VALUE"} {
			if strings.Contains(out, legacy) {
				t.Errorf("%s: output shows the legacy %q:\n%s", tt.analysis, legacy, out)
			}
		}
	}
}
