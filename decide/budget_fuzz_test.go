package decide

import (
	"strings"
	"testing"
	"time"

	"github.com/marquee-proxy/marquee/profile"
)

// FuzzExpressionBudget compiles arbitrary conditions and evaluates those
// that compile on the sample profiles and a visitor with long values: no
// evaluation may panic, run past a second, or build a string over the
// budget. Seeded with the blow-ups of the budget tests.
func FuzzExpressionBudget(f *testing.F) {
	for _, b := range blowups {
		f.Add(b.when)
	}
	for _, s := range []string{
		`attrs.tier + attrs.tier == "x"`, `join(split(attrs.bio, ""), attrs.bio) != ""`,
		`len(reduce(1..50, #acc + string(#), "")) > 0`, `any(keys(attrs), len(repeat(#, 100)) > 0)`,
		`replace(attrs.bio, "", attrs.bio) != ""`, `let s = attrs.bio + attrs.bio; len(s + s) > 0`,
		`device.type == "mobile" and geo?.country in ["FR"]`, `len(repeat(request.query("q"), 50)) > 0`,
		`visit.new or visit.count > 2 and time.hour < 6`, `device["os"] + request.path != ""`,
		`let device = 1; device > 0`, `request.query(request.path) == visit.landing`,
	} {
		f.Add(s)
	}
	visitor := &profile.Profile{Attrs: map[string]any{"tier": "gold", "bio": strings.Repeat("b", 4096)}}
	f.Fuzz(func(t *testing.T, when string) {
		if len(when) > 2048 || strings.ContainsAny(when, "'\n\r") {
			return
		}
		cfg, err := parseBench(segmentDoc(when))
		if err != nil {
			return
		}
		e, err := Compile(cfg)
		if err != nil {
			return
		}
		for _, p := range append(sampleProfiles(testNow, time.UTC), visitor) {
			d := e.Acquire(p, []byte("v"), testNow)
			d.SetContext(sampleContext{})
			start := time.Now()
			for i := range e.segments {
				clear(d.seg)
				_, _ = d.runErr(e.segments[i].prog)
				if d.spent.bytes > exprByteBudget || d.spent.steps > exprStepBudget+1 {
					t.Fatalf("%s: spent %+v past the budget", when, d.spent)
				}
			}
			if took := time.Since(start); took > time.Second {
				t.Fatalf("%s: evaluation took %v", when, took)
			}
			d.Release()
		}
	})
}
