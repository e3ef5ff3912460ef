package personalize

import (
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

// campaignRegistrar is a Recorder that wants to know every campaign's
// configured split, as stats.Recorder does for lift and sample-ratio checks.
type campaignRegistrar interface {
	Register(campaign string, variants []stats.VariantSpec)
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
			reg.Register(c.ID, []stats.VariantSpec{{Name: DefaultVariant, Weight: 1}})
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
		reg.Register(c.ID, specs)
	}
	if h := snap.Engine.GlobalHoldoutShare(); h > 0 {
		reg.Register(GlobalCampaign, []stats.VariantSpec{
			{Name: "personalized", Weight: 1 - h},
			{Name: decide.HoldoutVariant, Weight: h, Holdout: true},
		})
	}
}

// Interface guards.
var _ Recorder = (*stats.Recorder)(nil)
