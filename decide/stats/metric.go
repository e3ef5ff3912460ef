package stats

import (
	"slices"
	"strconv"
	"strings"
)

// Metric is an outcome an experiment is judged by. Every metric is per
// enrolled visitor (or a ratio of two such), and higher is better.
type Metric int

// The metrics marquee records. Their names are the config's and the
// report's.
const (
	// MetricConversion is the share of enrolled visitors with at least one
	// credited conversion.
	MetricConversion Metric = iota
	// MetricOrders is credited conversions per enrolled visitor.
	MetricOrders
	// MetricRevenue is credited purchase value per enrolled visitor.
	MetricRevenue
	// MetricAOV is average order value: credited purchase value over
	// credited conversions, a ratio metric (delta method).
	MetricAOV
	metricCount
)

var metricNames = [...]string{"conversion", "orders_per_visitor", "revenue_per_visitor", "aov"}

// String returns the metric's config name; it never panics.
func (m Metric) String() string {
	if m < 0 || m >= metricCount {
		return "metric(" + strconv.Itoa(int(m)) + ")"
	}
	return metricNames[m]
}

// ratio reports whether m is a ratio of two per-visitor means.
func (m Metric) ratio() bool { return m == MetricAOV }

// ParseMetric returns the metric named s, as config and reports write it.
func ParseMetric(s string) (Metric, bool) {
	for i, n := range metricNames {
		if s == n {
			return Metric(i), true
		}
	}
	return 0, false
}

// MetricNames lists every metric name, for error messages.
func MetricNames() string { return strings.Join(metricNames[:], ", ") }

// Analysis is how a metric's difference is tested.
type Analysis int

const (
	// AnalysisSequential reports always-valid p-values and confidence
	// sequences (mSPRT): results may be read every day and an experiment
	// stopped at any look without inflating false positives.
	AnalysisSequential Analysis = iota
	// AnalysisFixed reports Welch's t-test and interval, valid only when
	// read once, at a sample size fixed in advance.
	AnalysisFixed
)

// String returns the analysis's config name; it never panics.
func (a Analysis) String() string {
	switch a {
	case AnalysisSequential:
		return "sequential"
	case AnalysisFixed:
		return "fixed"
	}
	return "analysis(" + strconv.Itoa(int(a)) + ")"
}

// ParseAnalysis returns the analysis named s; "" is the default,
// sequential.
func ParseAnalysis(s string) (Analysis, bool) {
	switch s {
	case "", "sequential":
		return AnalysisSequential, true
	case "fixed":
		return AnalysisFixed, true
	}
	return 0, false
}

// ExperimentSpec says how a campaign's experiment is judged. The zero value
// reports conversion alone, sequentially, with CUPED.
type ExperimentSpec struct {
	// Metrics are the metrics reported, by name (see ParseMetric), in
	// order. Empty: conversion alone.
	Metrics []string `json:"metrics,omitempty"`
	// Primary is the metric the experiment is decided on. Empty: the first
	// of Metrics.
	Primary string `json:"primary,omitempty"`
	// Guardrails are metrics that must not get significantly worse; the
	// report flags a variant where one does. They are reported after
	// Metrics when not among them.
	Guardrails []string `json:"guardrails,omitempty"`
	// Analysis is "sequential" (the default) or "fixed"; see Analysis.
	Analysis string `json:"analysis,omitempty"`
	// NoCUPED turns the CUPED adjustment off.
	NoCUPED bool `json:"no_cuped,omitempty"`
}

// clone returns a copy of x sharing no slices with it.
func (x ExperimentSpec) clone() ExperimentSpec {
	x.Metrics = slices.Clone(x.Metrics)
	x.Guardrails = slices.Clone(x.Guardrails)
	return x
}

// isZero reports whether x is the default spec.
func (x *ExperimentSpec) isZero() bool {
	return len(x.Metrics) == 0 && x.Primary == "" && len(x.Guardrails) == 0 && x.Analysis == "" && !x.NoCUPED
}

// metricPlan is an ExperimentSpec resolved for a report: known metrics
// only, the primary first among equals, guardrails marked.
type metricPlan struct {
	metrics   []Metric
	primary   Metric
	guardrail [metricCount]bool
	analysis  Analysis
	cuped     bool
}

// plan resolves x. Names it does not know (from a newer node) are left
// out rather than failing the report.
func (x *ExperimentSpec) plan() metricPlan {
	p := metricPlan{cuped: !x.NoCUPED}
	p.analysis, _ = ParseAnalysis(x.Analysis)
	seen := [metricCount]bool{}
	add := func(name string) (Metric, bool) {
		m, ok := ParseMetric(name)
		if ok && !seen[m] {
			seen[m] = true
			p.metrics = append(p.metrics, m)
		}
		return m, ok
	}
	for _, n := range x.Metrics {
		add(n)
	}
	if len(p.metrics) == 0 {
		add(MetricConversion.String())
	}
	for _, n := range x.Guardrails {
		if m, ok := add(n); ok {
			p.guardrail[m] = true
		}
	}
	p.primary = p.metrics[0]
	if m, ok := ParseMetric(x.Primary); ok && seen[m] {
		p.primary = m
	}
	return p
}
