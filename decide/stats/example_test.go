package stats_test

import (
	"fmt"

	"github.com/marquee-proxy/marquee/decide/stats"
)

func Example() {
	r := stats.NewRecorder(stats.Config{})
	// Register once per config load, so the request path never allocates.
	r.Register("hero-banner", []stats.VariantSpec{
		{Name: "control", Weight: 1, Control: true},
		{Name: "sale", Weight: 1},
	})

	// On the request path.
	for i := range 1000 {
		id := fmt.Appendf(nil, "visitor-%d", i)
		variant := "control"
		if i%2 == 1 {
			variant = "sale"
		}
		r.Expose("hero-banner", variant, id)
		// 40% of control visitors convert, 60% of sale visitors.
		if d := i % 10; d == 0 || d == 2 || d == 1 || d == 3 || d == 5 {
			r.Convert("hero-banner", variant, id)
		}
	}

	// Each node gossips r.State(name); any node merges what it has.
	rep := stats.Merge(r.State("edge-1"))
	for _, c := range rep.Campaigns {
		fmt.Println(c.Campaign, "baseline:", c.Baseline, "srm:", c.SRM)
		for _, v := range c.Variants {
			fmt.Printf("%s exposures=%d conversions=%d", v.Variant, v.Exposures, v.Conversions)
			if v.Lift != nil {
				fmt.Printf(" lift>0:%v significant:%v", *v.Lift > 0, *v.PValue < 0.05)
			}
			fmt.Println()
		}
	}
	// Output:
	// hero-banner baseline: control srm: false
	// control exposures=500 conversions=200
	// sale exposures=500 conversions=300 lift>0:true significant:true
}
