package personalize

import (
	"github.com/marquee-proxy/marquee/config"
	"github.com/marquee-proxy/marquee/decide"
	"github.com/marquee-proxy/marquee/decide/stats"
)

// DefaultVariant is the variant name statistics use for a campaign that
// runs no experiment.
const DefaultVariant = "default"

// statsVariant names a choice's variant for statistics.
func statsVariant(name string) string {
	if name == "" {
		return DefaultVariant
	}
	return name
}

// outcomeRecorder is a Recorder that keeps experiment metrics, as
// stats.Recorder does: it is told each person's first exposure to a
// variant, with the 30 days before it, and each credited conversion with
// its value. Both are called on the write queue after the profile change
// is stored, never on the request path; they must not block.
type outcomeRecorder interface {
	Enroll(campaign, variant string, pre stats.Covariate)
	Outcome(campaign, variant string, out stats.Outcome)
}

// campaignRegistrar is a Recorder that wants to know every campaign's
// configured split, as stats.Recorder does for lift and sample-ratio checks.
type campaignRegistrar interface {
	RegisterExperiment(campaign string, variants []stats.VariantSpec, exp stats.ExperimentSpec)
}

// registerCampaigns tells r the variants and shares of every campaign of
// snap, and of the global holdout when there is one.
func registerCampaigns(r Recorder, snap *Snapshot) {
	reg, ok := r.(campaignRegistrar)
	if !ok {
		return
	}
	for _, c := range snap.Engine.Campaigns() {
		vs := c.Variants()
		if len(vs) == 0 {
			reg.RegisterExperiment(c.ID, []stats.VariantSpec{{Name: DefaultVariant, Weight: 1}}, stats.ExperimentSpec{})
			continue
		}
		total := 0.0
		for _, v := range vs {
			total += v.Weight
		}
		specs := make([]stats.VariantSpec, 0, len(vs))
		for _, v := range vs {
			specs = append(specs, stats.VariantSpec{Name: v.Name, Weight: v.Weight / total, Control: v.Control, Holdout: v.Holdout})
		}
		reg.RegisterExperiment(c.ID, specs, experimentSpec(c.ExperimentConfig()))
	}
	if h := snap.Engine.GlobalHoldoutShare(); h > 0 {
		reg.RegisterExperiment(GlobalCampaign, []stats.VariantSpec{
			{Name: "personalized", Weight: 1 - h},
			{Name: decide.HoldoutVariant, Weight: h, Holdout: true},
		}, stats.ExperimentSpec{})
	}
}

// experimentSpec is how the statistics judge an experiment configured as
// ex (nil: the defaults).
func experimentSpec(ex *config.Experiment) stats.ExperimentSpec {
	if ex == nil {
		return stats.ExperimentSpec{}
	}
	return stats.ExperimentSpec{
		Metrics:    ex.Metrics,
		Primary:    ex.Primary,
		Guardrails: ex.Guardrails,
		Analysis:   ex.Analysis,
		NoCUPED:    ex.CUPED != nil && !*ex.CUPED,
	}
}

// Interface guards.
var (
	_ Recorder          = (*stats.Recorder)(nil)
	_ outcomeRecorder   = (*stats.Recorder)(nil)
	_ campaignRegistrar = (*stats.Recorder)(nil)
)
