package stats

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// WriteText writes rep as one readable table per campaign, for terminals
// (marquee stats). The layout is for people and may change; scripts read
// the JSON.
func WriteText(w io.Writer, rep Report) error {
	ew := &errWriter{w: w}
	if len(rep.Nodes) == 0 {
		fmt.Fprintf(ew, "no statistics yet\n")
		return ew.err
	}
	fmt.Fprintf(ew, "statistics at %s from %s\n", rep.GeneratedAt.UTC().Format(time.RFC3339), plural(len(rep.Nodes), "node"))
	if len(rep.Campaigns) == 0 {
		fmt.Fprintf(ew, "no campaigns recorded\n")
	}
	for _, c := range rep.Campaigns {
		fmt.Fprintf(ew, "\ncampaign %s: %s\n", c.Campaign, headline(c))
		var total float64
		for _, v := range c.Variants {
			total += v.Weight
		}
		tw := tabwriter.NewWriter(ew, 0, 0, 2, ' ', 0)
		// With experiment metrics, the primary metric by the campaign's
		// analysis decides: the legacy lift and p-value (a fixed-horizon
		// z-test on visitor estimates) would inflate false positives when
		// read daily, so they are not shown.
		metrics := c.Analysis != ""
		if metrics {
			fmt.Fprintf(tw, "VARIANT\tSPLIT\tEXPOSURES\tVISITORS\tCONVERTERS\tCONVERSIONS\tRATE\tENROLLED\t%s\t%s\tLIFT\t%s\tRESULT\n",
				strings.ToUpper(c.Primary), primaryDiffHeader(c), primaryPHeader(c))
		} else {
			fmt.Fprintf(tw, "VARIANT\tSPLIT\tEXPOSURES\tVISITORS\tCONVERTERS\tCONVERSIONS\tRATE\tLIFT [95%% CI]\tP-VALUE\n")
		}
		for _, v := range c.Variants {
			name := v.Variant
			switch {
			case v.Variant == c.Baseline:
				name += " (baseline)"
			case v.Holdout:
				name += " (holdout)"
			}
			split := "-"
			if v.Weight > 0 && total > 0 {
				split = strconv.FormatFloat(100*v.Weight/total, 'f', 1, 64) + "%"
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%s\t", name, split, v.Exposures, v.UniqueVisitors,
				v.Converters, v.Conversions, percent(v.ConversionRate))
			if !metrics {
				fmt.Fprintf(tw, "%s\t%s\n", liftText(v), pValueText(v.PValue))
				continue
			}
			m, ok := primaryMetric(v)
			if !ok {
				fmt.Fprintf(tw, "%d\t-\t-\t-\t-\t-\n", v.Enrolled)
				continue
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", v.Enrolled, number(m.Value), differenceText(m),
				signedPercent(m.Lift), pValueText(m.PValue), verdict(m, v.Variant == c.Baseline))
		}
		if err := tw.Flush(); err != nil && ew.err == nil {
			ew.err = err
		}
		writeMetrics(ew, c)
	}
	return ew.err
}

// writeMetrics writes the experiment metrics of c, when it has enrolled
// visitors: one row per variant and metric, then any guardrail alert.
func writeMetrics(ew *errWriter, c CampaignReport) {
	if c.Analysis == "" {
		return
	}
	how := "always-valid p-values and 95% confidence sequences: read any day"
	if c.Analysis == AnalysisFixed.String() {
		how = "Welch's test, fixed horizon: read once, at the planned sample size"
	}
	fmt.Fprintf(ew, "metrics per enrolled visitor, %s analysis (%s); primary %s\n", c.Analysis, how, c.Primary)
	tw := tabwriter.NewWriter(ew, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "VARIANT\tMETRIC\tENROLLED\tVALUE\tDIFFERENCE [95%% CI]\tLIFT\t%s\tNOTE\n", primaryPHeader(c))
	for _, v := range c.Variants {
		for _, m := range v.Metrics {
			name := m.Metric
			switch {
			case m.Primary:
				name += " (primary)"
			case m.Guardrail:
				name += " (guardrail)"
			}
			var notes []string
			if m.CUPED != nil {
				notes = append(notes, fmt.Sprintf("CUPED -%.1f%% variance", 100*m.CUPED.VarianceReduction))
			}
			switch {
			case m.Worse && m.Guardrail:
				notes = append(notes, "GUARDRAIL WORSE")
			case m.Worse:
				notes = append(notes, "worse")
			case m.Significant:
				notes = append(notes, "better")
			}
			note := "-"
			if len(notes) > 0 {
				note = strings.Join(notes, "; ")
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\n", v.Variant, name, v.Enrolled, number(m.Value),
				differenceText(m), signedPercent(m.Lift), pValueText(m.PValue), note)
		}
	}
	if err := tw.Flush(); err != nil && ew.err == nil {
		ew.err = err
	}
	if c.GuardrailAlert {
		for _, v := range c.Variants {
			if len(v.GuardrailWorse) > 0 {
				fmt.Fprintf(ew, "GUARDRAIL: %s is significantly worse on %s\n", v.Variant, strings.Join(v.GuardrailWorse, ", "))
			}
		}
	}
}

// primaryMetric returns v's report of the campaign's primary metric.
func primaryMetric(v VariantReport) (MetricReport, bool) {
	for _, m := range v.Metrics {
		if m.Primary {
			return m, true
		}
	}
	return MetricReport{}, false
}

// primaryDiffHeader names the primary metric's difference column by the
// campaign's analysis: a confidence sequence or a fixed-horizon interval.
func primaryDiffHeader(c CampaignReport) string {
	if c.Analysis == AnalysisFixed.String() {
		return "DIFFERENCE [95% CI, FIXED HORIZON]"
	}
	return "DIFFERENCE [95% CONFIDENCE SEQUENCE]"
}

// primaryPHeader names a metric p-value column by the campaign's analysis.
func primaryPHeader(c CampaignReport) string {
	if c.Analysis == AnalysisFixed.String() {
		return "P (FIXED HORIZON)"
	}
	return "ALWAYS-VALID P"
}

// verdict is the primary metric's result in a word.
func verdict(m MetricReport, baseline bool) string {
	switch {
	case baseline:
		return "baseline"
	case m.PValue == nil:
		return "-"
	case m.Worse:
		return "worse"
	case m.Significant:
		return "better"
	}
	return "not significant"
}

func number(x *float64) string {
	if x == nil {
		return "-"
	}
	return strconv.FormatFloat(*x, 'g', 4, 64)
}

func differenceText(m MetricReport) string {
	if m.Difference == nil {
		return "-"
	}
	s := fmt.Sprintf("%+.4g", *m.Difference)
	if m.CI95 != nil {
		s += fmt.Sprintf(" [%+.4g, %+.4g]", m.CI95.Low, m.CI95.High)
	}
	return s
}

func signedPercent(x *float64) string {
	if x == nil {
		return "-"
	}
	return fmt.Sprintf("%+.1f%%", 100**x)
}

// headline is what the line naming campaign c says: the split check and
// the report's note, or the note alone for one arm, which has no split.
func headline(c CampaignReport) string {
	switch c.Note {
	case "":
		return srmText(c)
	case NoteOneArm:
		return c.Note
	}
	return srmText(c) + "; " + c.Note
}

// srmText is the campaign's sample-ratio verdict in words.
func srmText(c CampaignReport) string {
	t := c.SRMTest
	switch {
	case t == nil:
		return "split not checked (too few visitors or weights)"
	case c.SRM:
		return fmt.Sprintf("SAMPLE RATIO MISMATCH (chi-square %.1f, df %d, p %s): assignment looks broken, do not trust lift", t.ChiSquare, t.DF, pText(t.PValue))
	default:
		return fmt.Sprintf("split ok (chi-square %.1f, df %d, p %s)", t.ChiSquare, t.DF, pText(t.PValue))
	}
}

func liftText(v VariantReport) string {
	if v.Lift == nil {
		return "-"
	}
	s := fmt.Sprintf("%+.1f%%", 100**v.Lift)
	if v.LiftCI95 != nil {
		s += fmt.Sprintf(" [%+.1f%%, %+.1f%%]", 100*v.LiftCI95.Low, 100*v.LiftCI95.High)
	}
	return s
}

func percent(p *float64) string {
	if p == nil {
		return "-"
	}
	return fmt.Sprintf("%.2f%%", 100**p)
}

func pValueText(p *float64) string {
	if p == nil {
		return "-"
	}
	return pText(*p)
}

// pText prints small p-values as a bound: digits beyond the fourth are noise
// from the normal approximation.
func pText(p float64) string {
	if p < 0.0001 {
		return "<0.0001"
	}
	return strconv.FormatFloat(p, 'f', 4, 64)
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

// errWriter keeps the first write error so the table code can print
// without checking each call.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}
