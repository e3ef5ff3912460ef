package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/marquee-proxy/marquee/config"
	"github.com/marquee-proxy/marquee/decide/stats"
	"github.com/marquee-proxy/marquee/internal/demo"
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

// TestDemoShowsRevenue runs the demo's node in front of the demo shop:
// shoppers who are neither gold nor silver see the welcome test, fill a
// cart and check out, and `marquee stats` shows the experiment's revenue
// per visitor from the order values the shop announces.
func TestDemoShowsRevenue(t *testing.T) {
	dir := t.TempDir()
	catalog := filepath.Join(dir, "catalog.json")
	if err := os.WriteFile(catalog, demo.CatalogJSON(), 0o600); err != nil {
		t.Fatal(err)
	}
	cfgText := fmt.Sprintf("listen: 127.0.0.1:0\norigin: %s\nadmin:\n  listen: 127.0.0.1:0\ncatalog_dir: %q\ncatalog: %q\n%s",
		serveOrigin(t, nil, demo.NewShop()), dir, catalog, demo.Config())
	n, err := startDemoNode(cfgText, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.close(context.Background()) })
	const shoppers = 12
	for i := range shoppers {
		b := newBrowser(t)
		b.get(n.proxyURL() + "/")
		if i%3 == 0 {
			b.cookies["demo_cart"] = "aero-earbuds:1" // $79, as the add-to-cart form leaves it
			b.get(n.proxyURL() + "/checkout/complete")
		}
		vid := []byte(b.cookies["mq_vid"][:personalize.VisitorIDLen])
		n.ingest.tracker.Wait(vid)
		n.ingest.tracker.Wait(vid)
	}
	var cr stats.CampaignReport
	for _, c := range stats.Merge(n.stats.State("demo")).Campaigns {
		if c.Campaign == "welcome-test" {
			cr = c
		}
	}
	var enrolled uint64
	revenue := 0.0
	for _, v := range cr.Variants {
		enrolled += v.Enrolled
		for _, m := range v.Metrics {
			if m.Metric == "revenue_per_visitor" && m.Value != nil {
				revenue += *m.Value * float64(v.Enrolled)
			}
		}
	}
	if enrolled != shoppers || math.Abs(revenue-4*79) > 1e-9 || cr.Primary != "revenue_per_visitor" {
		t.Errorf("welcome-test: %d enrolled, revenue %v, primary %q; want %d, %v, revenue_per_visitor", enrolled, revenue, cr.Primary, shoppers, 4*79.0)
	}
	code, out, errOut := runCLI("stats", "-admin", n.adminURL())
	if code != 0 || !strings.Contains(out, "campaign welcome-test") || !strings.Contains(out, "revenue_per_visitor (primary)") {
		t.Errorf("marquee stats against the demo: %d %s\n%s", code, errOut, out)
	}
}

// TestStatsFileKeepsMoments: metrics survive a restart through
// data_dir/stats.json, and a file written before metrics existed still
// restores.
func TestStatsFileKeepsMoments(t *testing.T) {
	dir := t.TempDir()
	cfg, err := config.Parse("t.yaml", []byte("origin: http://127.0.0.1:1\ndata_dir: "+dir+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	rec := stats.NewRecorder(stats.Config{})
	rec.Enroll("hero", "a", stats.Covariate{Orders: 1, Revenue: 12})
	rec.Outcome("hero", "a", stats.Outcome{Value: 30, Pre: stats.Covariate{Orders: 1, Revenue: 12}})
	n := &node{cfg: cfg, stats: rec}
	if err := n.saveStats(); err != nil {
		t.Fatal(err)
	}
	back := stats.NewRecorder(stats.Config{})
	if err := restoreStats(cfg, back, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	got := back.State("n").Campaigns[0].Variants[0]
	if got.Moments == nil || got.Moments.N != 1 || got.Moments.Revenue != 30 || got.Moments.RevenuePre != 360 || len(got.Daily) != 1 {
		t.Errorf("restored %+v, want one enrolled visitor with revenue 30 and its day", got)
	}

	old := `{"node":"n","started":"2026-11-20T12:00:00Z","at":"2026-11-23T12:00:00Z","campaigns":[{"campaign":"hero","configured":true,"variants":[{"name":"a","weight":1,"exposures":7,"conversions":1}]}]}`
	if err := os.WriteFile(filepath.Join(dir, "stats.json"), []byte(old), 0o600); err != nil {
		t.Fatal(err)
	}
	back = stats.NewRecorder(stats.Config{})
	if err := restoreStats(cfg, back, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	if v := back.State("n").Campaigns[0].Variants[0]; v.Exposures != 7 || v.Moments != nil {
		t.Errorf("old stats.json restored as %+v", v)
	}
	if _, err := os.Stat(filepath.Join(dir, "stats.json.bad")); err == nil {
		t.Error("an old stats.json was set aside as unreadable")
	}
}

// TestPurchaseEventValueThroughAPI: a purchase sent to POST /v1/events
// credits its value to the variant the buyer saw, once (a repeat of its id
// is a duplicate), and GET /v1/stats reports it.
func TestPurchaseEventValueThroughAPI(t *testing.T) {
	n := startTestNode(t, shopOrigin, revenueExperiment)
	b := newBrowser(t)
	b.get(n.proxyURL() + "/")
	vid := b.cookies["mq_vid"][:personalize.VisitorIDLen]
	n.ingest.tracker.Wait([]byte(vid))
	ev := `{"id":"order-1","type":"purchase","visitor":"` + vid + `","value":123.5}`
	for range 2 {
		if code, body := adminDo(t, "POST", n.adminURL()+"/v1/events", ev); code != http.StatusOK {
			t.Fatalf("events: %d %s", code, body)
		}
	}
	n.ingest.tracker.Wait([]byte(vid))
	code, body := adminDo(t, "GET", n.adminURL()+"/v1/stats", "")
	if code != http.StatusOK {
		t.Fatalf("stats: %d %s", code, body)
	}
	var rep stats.Report
	if err := json.Unmarshal([]byte(body), &rep); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, v := range rep.Campaigns[0].Variants {
		for _, m := range v.Metrics {
			if m.Metric == "revenue_per_visitor" && v.Enrolled == 1 {
				found = true
				if *m.Value != 123.5 || v.Conversions != 1 {
					t.Errorf("variant %s: revenue per visitor %v after %d conversions, want 123.5 after one", v.Variant, *m.Value, v.Conversions)
				}
			}
		}
	}
	if !found {
		t.Errorf("no enrolled variant with revenue in %s", body)
	}
}
