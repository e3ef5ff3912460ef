package main

import (
	"fmt"
	"math"
	"net/http"
	"strings"
	"testing"

	"github.com/marquee-proxy/marquee/decide/stats"
	"github.com/marquee-proxy/marquee/personalize"
)

// revenueExperiment judges an A/B test by revenue, with conversion as a
// guardrail; the thank-you page converts, and so does a purchase event.
const revenueExperiment = `conversions:
  paths: ["/checkout/complete"]
  events: [purchase]
campaigns:
  - id: hero-test
    slot: hero
    template: '<b>A</b>'
    experiment:
      metrics: [revenue_per_visitor, aov]
      guardrails: [conversion]
      variants: [{name: a, control: true}, {name: b, template: '<b>B</b>'}]
`

// shopOrigin serves a slotted page everywhere; the thank-you page
// announces the order from its query (?order=ID&value=V) in the event
// header, as a shop's checkout would.
var shopOrigin = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/checkout/complete" {
		if id := r.URL.Query().Get("order"); id != "" {
			w.Header().Set("X-Marquee-Event", "purchase; id="+id+"; value="+r.URL.Query().Get("value"))
		}
	}
	w.Header().Set("Content-Type", "text/html")
	fmt.Fprint(w, `<div data-marquee-slot="hero">fallback</div>`)
})

// TestRevenueMetricsEndToEnd: visitors browse and buy through the proxy;
// each is enrolled once however many pages they see, each order's value
// from the event header is credited once (a reload of the thank-you page
// repeats the order id and is not), and the report and `marquee stats`
// show revenue per visitor and average order value.
func TestRevenueMetricsEndToEnd(t *testing.T) {
	n := startTestNode(t, shopOrigin, revenueExperiment)
	const visitors = 20
	wantRevenue, wantOrders := 0.0, 0
	for i := range visitors {
		b := newBrowser(t)
		b.get(n.proxyURL() + "/")
		b.get(n.proxyURL() + "/p/thing")
		vid := []byte(b.cookies["mq_vid"][:personalize.VisitorIDLen])
		n.ingest.tracker.Wait(vid)
		if i%2 == 0 {
			value := float64(10 + i)
			b.get(fmt.Sprintf("%s/checkout/complete?order=o%d&value=%g", n.proxyURL(), i, value))
			b.get(fmt.Sprintf("%s/checkout/complete?order=o%d&value=%g", n.proxyURL(), i, value)) // a reload
			wantRevenue += value
			wantOrders++
		}
		if i == 1 {
			b.get(n.proxyURL() + "/checkout/complete") // no event header: a conversion without value
			wantOrders++
		}
		// Twice: a stored purchase event queues its conversion behind it.
		n.ingest.tracker.Wait(vid)
		n.ingest.tracker.Wait(vid)
	}

	cr := stats.Merge(n.stats.State("n1")).Campaigns[0]
	var enrolled uint64
	var revenue float64
	for _, v := range cr.Variants {
		enrolled += v.Enrolled
		for _, m := range v.Metrics {
			if m.Metric == "revenue_per_visitor" {
				revenue += *m.Value * float64(v.Enrolled)
			}
		}
	}
	if enrolled != visitors || math.Abs(revenue-wantRevenue) > 1e-9 {
		t.Errorf("enrolled %d with revenue %v, want %d and %v", enrolled, revenue, visitors, wantRevenue)
	}
	var conversions uint64
	for _, v := range cr.Variants {
		conversions += v.Conversions
	}
	if conversions != uint64(wantOrders) || cr.Primary != "revenue_per_visitor" {
		t.Errorf("%d conversions, primary %q; want %d, revenue_per_visitor", conversions, cr.Primary, wantOrders)
	}

	code, out, errOut := runCLI("stats", "-admin", n.adminURL())
	if code != 0 {
		t.Fatalf("marquee stats: %d %s", code, errOut)
	}
	for _, want := range []string{"campaign hero-test", "primary revenue_per_visitor", "revenue_per_visitor (primary)", "aov", "conversion (guardrail)"} {
		if !strings.Contains(out, want) {
			t.Errorf("marquee stats lacks %q:\n%s", want, out)
		}
	}
}
