//go:build !race

package stats

import "testing"

// TestHotPathAllocations fails when recording a registered pair allocates:
// Expose and Convert run on every personalised request. The race detector
// allocates on its own, hence the build tag.
func TestHotPathAllocations(t *testing.T) {
	r := NewRecorder(Config{})
	r.Register("hero", abSpecs)
	id := visitor(42)
	// The first enrollment or outcome of a pair allocates its daily ring.
	r.Enroll("hero", "control", Covariate{})
	r.Outcome("hero", "treatment", Outcome{})
	tests := []struct {
		name string
		f    func()
	}{
		{"Expose", func() { r.Expose("hero", "control", id) }},
		{"Convert", func() { r.Convert("hero", "treatment", id) }},
		{"Expose without visitor", func() { r.Expose("hero", "control", nil) }},
		{"Enroll", func() { r.Enroll("hero", "control", Covariate{Orders: 1, Revenue: 20}) }},
		{"Outcome", func() { r.Outcome("hero", "treatment", Outcome{Value: 20, PriorOrders: 1, PriorRevenue: 5}) }},
	}
	for _, tt := range tests {
		if n := testing.AllocsPerRun(1000, tt.f); n != 0 {
			t.Errorf("%s: %v allocations per call, want 0", tt.name, n)
		}
	}
}
