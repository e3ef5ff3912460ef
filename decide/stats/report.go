package stats

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/axiomhq/hyperloglog"
)

// Report is the statistics of every campaign, the body of GET /v1/stats. Its
// JSON field names are stable. Fields that cannot be computed from the
// counts (a rate with no visitors, a lift against a control with no
// conversions) are omitted, never NaN or Inf.
type Report struct {
	// GeneratedAt is the newest At of the merged states.
	GeneratedAt time.Time `json:"generated_at"`
	// Nodes lists the G-counter entries merged, sorted by node then start.
	Nodes []NodeInfo `json:"nodes"`
	// Campaigns are sorted by name.
	Campaigns []CampaignReport `json:"campaigns"`
}

// NodeInfo identifies one node's contribution to a Report.
type NodeInfo struct {
	// Node is the node's name.
	Node string `json:"node"`
	// Started is when the node's Recorder was created.
	Started time.Time `json:"started"`
	// At is the newest snapshot of that node that was merged.
	At time.Time `json:"at"`
}

// CampaignReport is the statistics of one campaign.
type CampaignReport struct {
	// Campaign is the campaign's name.
	Campaign string `json:"campaign"`
	// Baseline names the variant lift is measured against: the one marked
	// Control, else the Holdout one. Empty when there is neither.
	Baseline string `json:"baseline,omitempty"`
	// Variants are in configuration order, unregistered ones last.
	Variants []VariantReport `json:"variants"`
	// SRM is true when the observed split of unique visitors is so far
	// from the configured weights (p < SRMThreshold) that assignment is
	// probably broken and lift should not be trusted.
	SRM bool `json:"srm"`
	// SRMTest is the sample-ratio check; omitted when fewer than two
	// variants have a positive weight or an expected count is below five.
	SRMTest *SRMTest `json:"srm_test,omitempty"`
	// Primary names the metric the experiment is decided on; omitted
	// until a visitor is enrolled.
	Primary string `json:"primary,omitempty"`
	// Analysis is how metrics are tested: "sequential" or "fixed";
	// omitted until a visitor is enrolled.
	Analysis string `json:"analysis,omitempty"`
	// GuardrailAlert is true when some variant worsened a guardrail
	// metric significantly (see MetricReport.Worse).
	GuardrailAlert bool `json:"guardrail_alert,omitempty"`
	// Note says, for people, why the report has no lift: NoteOneArm or
	// NoteNoBaseline; omitted when there is a baseline. Every view of the
	// report (marquee stats, the console) shows this text as it is.
	Note string `json:"note,omitempty"`
}

// The texts of CampaignReport.Note.
const (
	// NoteOneArm is the note of a campaign with a single arm, such as one
	// without an experiment.
	NoteOneArm = "one arm, no control or holdout: exposures and conversions only, no lift or split check"
	// NoteNoBaseline is the note of an experiment whose arms include
	// neither a control nor a holdout.
	NoteNoBaseline = "no control or holdout to measure lift against"
)

// SRMTest is a chi-square goodness-of-fit test of observed unique visitors
// per variant against the configured weights.
type SRMTest struct {
	// ChiSquare is the test statistic, with each cell's variance widened by
	// the sketch's error (see the package's srmTest).
	ChiSquare float64 `json:"chi_square"`
	// DF is the degrees of freedom: the number of weighted variants - 1.
	DF int `json:"df"`
	// PValue is P(χ²(DF) > ChiSquare).
	PValue float64 `json:"p_value"`
	// Threshold is the PValue below which SRM is flagged, SRMThreshold.
	Threshold float64 `json:"threshold"`
}

// VariantReport is the statistics of one variant, summed over the cluster.
type VariantReport struct {
	// Variant is the variant's name.
	Variant string `json:"variant"`
	// Weight is the configured weight; 0 for unregistered variants.
	Weight float64 `json:"weight"`
	// Control is true for the configured control.
	Control bool `json:"control,omitempty"`
	// Holdout is true for the share that saw the fallback.
	Holdout bool `json:"holdout,omitempty"`
	// Exposures counts every exposure, repeat views included.
	Exposures uint64 `json:"exposures"`
	// UniqueVisitors estimates distinct exposed visitors (HyperLogLog,
	// about 0.8% standard error).
	UniqueVisitors uint64 `json:"unique_visitors"`
	// Conversions counts every conversion.
	Conversions uint64 `json:"conversions"`
	// Converters estimates distinct converting visitors.
	Converters uint64 `json:"converters"`
	// ConversionRate is Converters / UniqueVisitors, capped at 1; omitted
	// with no visitors.
	ConversionRate *float64 `json:"conversion_rate,omitempty"`
	// Lift is (rate - baseline rate) / baseline rate; omitted for the
	// baseline itself and when the baseline rate is zero.
	Lift *float64 `json:"lift,omitempty"`
	// LiftCI95 is the 95% confidence interval of Lift (Katz log method);
	// omitted when either arm has no converters.
	LiftCI95 *Interval `json:"lift_ci95,omitempty"`
	// PValue is the two-sided p-value of the pooled two-proportion z-test
	// against the baseline; omitted when it is undefined (both rates 0 or
	// both 1, or an arm with no visitors). Lift, LiftCI95 and PValue are
	// fixed-horizon, on estimated counts: read daily they inflate false
	// positives. A campaign with Metrics is judged on its primary metric
	// instead (WriteText and the dashboard do not show these for it).
	PValue *float64 `json:"p_value,omitempty"`
	// Enrolled counts visitors enrolled in the variant, exactly: each once,
	// at the first exposure their profile records. Metrics are per
	// enrolled visitor.
	Enrolled uint64 `json:"enrolled,omitempty"`
	// Metrics are the experiment's metrics for this variant, in the
	// configured order; omitted until a visitor is enrolled.
	Metrics []MetricReport `json:"metrics,omitempty"`
	// GuardrailWorse names the guardrail metrics this variant made
	// significantly worse than the baseline.
	GuardrailWorse []string `json:"guardrail_worse,omitempty"`
	// Daily is the variant's cumulative results at the end of each of the
	// last DailyDays days with enrollments or outcomes, oldest first.
	Daily []DayReport `json:"daily,omitempty"`
}

// Interval is a confidence interval.
type Interval struct {
	// Low is the lower bound.
	Low float64 `json:"low"`
	// High is the upper bound.
	High float64 `json:"high"`
}

// nodeKey is the G-counter key of one node's run.
type nodeKey struct {
	node    string
	started int64 // UnixNano; time.Time is not comparable by ==
}

// counts is one G-counter entry.
type counts struct{ exposures, conversions uint64 }

// nodeMoments are the Moments of one G-counter entry from its newest
// state: they only grow, so the newest snapshot holds every older one.
type nodeMoments struct {
	at    time.Time
	total Moments
	daily []DayMoments
}

// mergedVariant accumulates one variant over all states.
type mergedVariant struct {
	perNode    map[nodeKey]counts
	moments    map[nodeKey]nodeMoments
	visitors   *hyperloglog.Sketch
	converters *hyperloglog.Sketch
}

// mergedCampaign accumulates one campaign over all states.
type mergedCampaign struct {
	variants map[string]*mergedVariant
	// spec is the campaign's variants from the newest configured state.
	spec   []VariantSpec
	exp    ExperimentSpec
	specAt time.Time
	specBy nodeKey
}

// Merge combines node states into a Report. Counters are G-counters: for
// each (node, started) key the largest count seen wins, and the winners are
// summed, so passing a state twice, or an older snapshot beside a newer one,
// changes nothing. Sketches are unioned, so a visitor seen by several nodes
// is one visitor. Each campaign's specs come from the newest state (by At,
// then node name) that registered it.
//
// States should come from Recorder.State or DecodeNodeState; a sketch that
// does not decode is ignored rather than failing the report.
func Merge(states ...NodeState) Report {
	campaigns := map[string]*mergedCampaign{}
	nodes := map[nodeKey]NodeInfo{}
	// Empty slices, not nil, so the JSON says [] rather than null.
	rep := Report{Nodes: []NodeInfo{}, Campaigns: []CampaignReport{}}
	for _, st := range states {
		key := nodeKey{st.Node, st.Started.UnixNano()}
		if ni, ok := nodes[key]; !ok || st.At.After(ni.At) {
			nodes[key] = NodeInfo{Node: st.Node, Started: st.Started.UTC(), At: st.At.UTC()}
		}
		if st.At.After(rep.GeneratedAt) {
			rep.GeneratedAt = st.At.UTC()
		}
		for _, c := range st.Campaigns {
			mc := campaigns[c.Campaign]
			if mc == nil {
				mc = &mergedCampaign{variants: map[string]*mergedVariant{}}
				campaigns[c.Campaign] = mc
			}
			if c.Configured && newer(st.At, key, mc.specAt, mc.specBy, mc.spec != nil) {
				mc.spec = make([]VariantSpec, 0, len(c.Variants))
				for _, v := range c.Variants {
					mc.spec = append(mc.spec, v.VariantSpec)
				}
				mc.exp = ExperimentSpec{}
				if c.Experiment != nil {
					mc.exp = c.Experiment.clone()
				}
				mc.specAt, mc.specBy = st.At, key
			}
			for _, v := range c.Variants {
				mv := mc.variants[v.Name]
				if mv == nil {
					mv = &mergedVariant{perNode: map[nodeKey]counts{}, moments: map[nodeKey]nodeMoments{}}
					mc.variants[v.Name] = mv
				}
				old := mv.perNode[key]
				mv.perNode[key] = counts{max(old.exposures, v.Exposures), max(old.conversions, v.Conversions)}
				if v.Moments != nil || len(v.Daily) > 0 {
					if held, ok := mv.moments[key]; !ok || st.At.After(held.at) || (st.At.Equal(held.at) && v.Moments != nil && v.Moments.N > held.total.N) {
						nm := nodeMoments{at: st.At, daily: v.Daily}
						if v.Moments != nil {
							nm.total = *v.Moments
						}
						mv.moments[key] = nm
					}
				}
				mv.visitors = union(mv.visitors, v.Visitors)
				mv.converters = union(mv.converters, v.Converters)
			}
		}
	}
	for _, ni := range nodes {
		rep.Nodes = append(rep.Nodes, ni)
	}
	slices.SortFunc(rep.Nodes, func(a, b NodeInfo) int {
		return cmp.Or(cmp.Compare(a.Node, b.Node), a.Started.Compare(b.Started))
	})
	names := make([]string, 0, len(campaigns))
	for name := range campaigns {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		rep.Campaigns = append(rep.Campaigns, campaigns[name].report(name))
	}
	return rep
}

// newer reports whether a spec seen at (at, by) should replace the one held
// at (heldAt, heldBy). Ties on time break on the node key so the result does
// not depend on the order of the states.
func newer(at time.Time, by nodeKey, heldAt time.Time, heldBy nodeKey, held bool) bool {
	if !held {
		return true
	}
	if c := at.Compare(heldAt); c != 0 {
		return c > 0
	}
	return cmp.Or(cmp.Compare(by.node, heldBy.node), cmp.Compare(by.started, heldBy.started)) > 0
}

// union merges the encoded sketch b into acc, returning the result. acc may
// be nil; a b that does not decode is ignored.
func union(acc *hyperloglog.Sketch, b []byte) *hyperloglog.Sketch {
	if len(b) == 0 {
		return acc
	}
	sk, err := decodeSketch(b)
	if err != nil {
		return acc
	}
	if acc == nil {
		return sk
	}
	// Precisions match (decodeSketch checked), so Merge cannot fail.
	_ = acc.Merge(sk)
	return acc
}

// decodeSketch decodes a sketch and insists on the precision every node
// uses, because sketches of different precision do not merge.
func decodeSketch(b []byte) (*hyperloglog.Sketch, error) {
	if len(b) >= 2 && b[1] != sketchPrecision {
		return nil, fmt.Errorf("sketch precision %d, want %d", b[1], sketchPrecision)
	}
	sk := new(hyperloglog.Sketch)
	if err := sk.UnmarshalBinary(b); err != nil {
		return nil, err
	}
	return sk, nil
}

func estimate(sk *hyperloglog.Sketch) uint64 {
	if sk == nil {
		return 0
	}
	return sk.Estimate()
}

// report computes the statistics of one merged campaign.
func (mc *mergedCampaign) report(name string) CampaignReport {
	cr := CampaignReport{Campaign: name}
	specs := map[string]VariantSpec{}
	var order []string
	for _, s := range mc.spec {
		if _, dup := specs[s.Name]; !dup {
			specs[s.Name] = s
			order = append(order, s.Name)
		}
	}
	var extra []string
	for v := range mc.variants {
		if _, ok := specs[v]; !ok {
			extra = append(extra, v)
		}
	}
	slices.Sort(extra)
	order = append(order, extra...)

	baseline := -1
	for i, v := range order {
		if specs[v].Control {
			baseline = i
			break
		}
	}
	if baseline < 0 {
		for i, v := range order {
			if specs[v].Holdout {
				baseline = i
				break
			}
		}
	}

	cr.Variants = make([]VariantReport, len(order))
	for i, v := range order {
		s := specs[v]
		vr := VariantReport{Variant: v, Weight: s.Weight, Control: s.Control, Holdout: s.Holdout}
		if mv := mc.variants[v]; mv != nil {
			for _, c := range mv.perNode {
				vr.Exposures += c.exposures
				vr.Conversions += c.conversions
			}
			vr.UniqueVisitors = estimate(mv.visitors)
			vr.Converters = estimate(mv.converters)
		}
		if vr.UniqueVisitors > 0 {
			rate := float64(converters(vr)) / float64(vr.UniqueVisitors)
			vr.ConversionRate = &rate
		}
		cr.Variants[i] = vr
	}

	if baseline >= 0 {
		b := cr.Variants[baseline]
		cr.Baseline = b.Variant
		for i := range cr.Variants {
			if i == baseline {
				continue
			}
			vr := &cr.Variants[i]
			r := compare(float64(converters(b)), float64(b.UniqueVisitors), float64(converters(*vr)), float64(vr.UniqueVisitors))
			if r.liftOK {
				vr.Lift = &r.lift
			}
			if r.ciOK {
				vr.LiftCI95 = &Interval{Low: r.ciLow, High: r.ciHigh}
			}
			if r.pValueOK {
				vr.PValue = &r.pValue
			}
		}
	}

	var observed, weights []float64
	for _, vr := range cr.Variants {
		if vr.Weight > 0 {
			observed = append(observed, float64(vr.UniqueVisitors))
			weights = append(weights, vr.Weight)
		}
	}
	if chi2, df, p, ok := srmTest(observed, weights); ok {
		cr.SRMTest = &SRMTest{ChiSquare: chi2, DF: df, PValue: p, Threshold: SRMThreshold}
		cr.SRM = p < SRMThreshold
	}
	if baseline < 0 {
		cr.Note = NoteNoBaseline
		if len(weights) <= 1 {
			cr.Note = NoteOneArm
		}
	}
	mc.reportMetrics(&cr, order, baseline)
	return cr
}

// converters caps the converters estimate at the visitors estimate: the two
// sketches err independently, and a rate above 1 would be nonsense.
func converters(vr VariantReport) uint64 {
	return min(vr.Converters, vr.UniqueVisitors)
}
