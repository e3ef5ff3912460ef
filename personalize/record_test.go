package personalize

import (
	"testing"
	"time"

	"github.com/marquee-proxy/marquee/decide"
	"github.com/marquee-proxy/marquee/decide/stats"
	"github.com/marquee-proxy/marquee/profile"
)

// TestEnrollFixesThePrePeriod checks that enrollment takes the 30 days
// before the first exposure as the covariate and keeps the conversion
// guard, and that purchases after it do not reach the covariate.
func TestEnrollFixesThePrePeriod(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	pr := &profile.Profile{Purchases: []profile.Purchase{
		{ID: "old", Value: 500, At: now.AddDate(0, 0, -45)},
		{ID: "a", Value: 20, At: now.AddDate(0, 0, -20)},
		{ID: "b", Value: 30, At: now.AddDate(0, 0, -1)},
	}}
	x := profile.Exposure{Variant: "a", At: now.Add(-time.Hour), Converted: now.Add(-time.Minute), Orders: 3, Revenue: 90}
	pre := enroll(&x, pr, "b", now)
	want := profile.Exposure{Variant: "b", Converted: now.Add(-time.Minute), Enrolled: now, PreOrders: 2, PreRevenue: 50}
	if x != want || pre != (stats.Covariate{Orders: 2, Revenue: 50}) {
		t.Errorf("enroll: exposure %+v covariate %+v, want %+v and 2 orders worth 50", x, pre, want)
	}
}

// TestCreditOutcomes checks that conversions accumulate per person in the
// exposure and hand the statistics the totals before each one.
func TestCreditOutcomes(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	pr := &profile.Profile{Exposures: map[string]profile.Exposure{
		"hero":   {Variant: "b", At: now, Enrolled: now, PreOrders: 1, PreRevenue: 7},
		"legacy": {Variant: "a", At: now}, // exposed before metrics: not enrolled
		"moved":  {Variant: "c", At: now, Enrolled: now},
	}}
	credited := []decide.Attribution{{Campaign: "hero", Variant: "b"}, {Campaign: "legacy", Variant: "a"}, {Campaign: "moved", Variant: "a"}}
	tests := []struct {
		value float64
		want  stats.Outcome
	}{
		{40, stats.Outcome{Value: 40, Pre: stats.Covariate{Orders: 1, Revenue: 7}}},
		{-5, stats.Outcome{Value: 0, PriorOrders: 1, PriorRevenue: 40, Pre: stats.Covariate{Orders: 1, Revenue: 7}}},
		{15, stats.Outcome{Value: 15, PriorOrders: 2, PriorRevenue: 40, Pre: stats.Covariate{Orders: 1, Revenue: 7}}},
	}
	for i, tt := range tests {
		got := creditOutcomes(pr, credited, tt.value, nil)
		if len(got) != 1 || got[0].campaign != "hero" || got[0].variant != "b" || got[0].out != tt.want {
			t.Errorf("conversion %d: %+v, want one for hero/b: %+v", i, got, tt.want)
		}
	}
	if x := pr.Exposures["hero"]; x.Orders != 3 || x.Revenue != 55 {
		t.Errorf("hero exposure after three conversions: %+v, want 3 orders worth 55", x)
	}
}
