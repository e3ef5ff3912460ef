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
	tests := []struct {
		name string
		f    func()
	}{
		{"Expose", func() { r.Expose("hero", "control", id) }},
		{"Convert", func() { r.Convert("hero", "treatment", id) }},
		{"Expose without visitor", func() { r.Expose("hero", "control", nil) }},
	}
	for _, tt := range tests {
		if n := testing.AllocsPerRun(1000, tt.f); n != 0 {
			t.Errorf("%s: %v allocations per call, want 0", tt.name, n)
		}
	}
}
