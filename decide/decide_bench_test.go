package decide

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/marquee-proxy/marquee/profile"
)

// benchEngineConfig is the reference load: 20 segments mixing
// attributes, scores, purchases and behaviour, and 50 campaigns over 3
// slots, some with caps, schedules and experiments.
func benchEngineConfig() string { return benchEngineConfigN(50) }

// benchEngineConfigN is benchEngineConfig with n campaigns.
func benchEngineConfigN(n int) string {
	var b strings.Builder
	b.WriteString("segments:\n")
	cats := []string{"electronics", "outdoor", "kitchen", "books", "fashion"}
	for i := range 20 {
		switch i % 5 {
		case 0:
			fmt.Fprintf(&b, "  s%d: 'attrs.tier == \"gold\" and score(\"propensity\") > 0.%d'\n", i, i%9+1)
		case 1:
			fmt.Fprintf(&b, "  s%d: 'views(\"%s\", \"7d\") >= %d'\n", i, cats[i%5], i%4+1)
		case 2:
			fmt.Fprintf(&b, "  s%d: 'purchases.total_30d > %d or cart.value > %d'\n", i, 100*i, 50*i)
		case 3:
			fmt.Fprintf(&b, "  s%d: 's%d and not s%d'\n", i, i-3, i-2)
		case 4:
			fmt.Fprintf(&b, "  s%d: 'attrs.city in [\"Lyon\", \"Paris\", \"Nantes\"] and viewed(\"p%d\")'\n", i, i)
		}
	}
	b.WriteString("campaigns:\n")
	slots := []string{"hero", "offer", "recs"}
	for i := range n {
		fmt.Fprintf(&b, "  - id: c%d\n    slot: %s\n    priority: %d\n    when: s%d\n    template: '<b>{{.Profile.Attrs.name}} %d</b>'\n", i, slots[i%3], i%7, (i*7)%20, i)
		switch i % 5 {
		case 1:
			b.WriteString("    cap: {max: 5, window: 7d}\n")
		case 2:
			b.WriteString("    schedule: {days: [mon, tue, wed, thu, fri, sat, sun], hours: [\"00:00-24:00\"]}\n")
		case 3:
			b.WriteString("    experiment: {holdout: 0.1, variants: [{name: a}, {name: b}]}\n")
		}
	}
	return b.String()
}

// benchProfile is a visitor with a realistic history.
func benchProfile(today int32) *profile.Profile {
	p := &profile.Profile{
		Attrs:  map[string]any{"tier": "gold", "name": "Ada", "city": "Lyon", "age": 36.0},
		Scores: map[string]float64{"propensity": 0.93},
		Views:  map[string][]profile.DayCount{},
		Cart:   profile.Cart{Items: []profile.CartItem{{Product: "p1", Qty: 1, Price: 80}}},
	}
	for i, c := range []string{"electronics", "outdoor", "kitchen", "books", "fashion"} {
		for d := range int32(10) {
			p.Views[c] = append(p.Views[c], profile.DayCount{Day: today - d, Count: int32(i + 1)})
		}
	}
	for i := range 20 {
		p.Recent = append(p.Recent, fmt.Sprintf("p%d", i*3))
		p.Purchases = append(p.Purchases, profile.Purchase{Value: 40, At: testNow.Add(-time.Duration(i) * 24 * time.Hour)})
	}
	return p
}

// BenchmarkDecide3Slots is one request's decision: profile bound, 3 slots
// chosen among 50 campaigns over 20 segments, offers rendered (cached).
func BenchmarkDecide3Slots(b *testing.B) { benchDecide(b, benchEngineConfig()) }

// BenchmarkDecide3SlotsLayered is BenchmarkDecide3Slots with its ten
// experiments in one layer. Not a like-for-like cost of the split (ten
// hashes once per decision): the visitor is in one experiment of the ten,
// so the slots fall through to campaigns whose conditions then run.
func BenchmarkDecide3SlotsLayered(b *testing.B) {
	benchDecide(b, strings.ReplaceAll(benchEngineConfig(), "experiment: {holdout", "experiment: {layer: all, holdout"))
}

// BenchmarkDecide3SlotsContext is BenchmarkDecide3Slots with a third of
// its segments and a fifth of its campaigns reading the request: device,
// geo, query, visit and time. Those segments are evaluated per request,
// never served from the per-profile cache.
func BenchmarkDecide3SlotsContext(b *testing.B) {
	benchDecideCtx(b, benchContextConfig(), benchContext())
}

// benchContextConfig is benchEngineConfig with request-dependent segments
// and campaign conditions.
func benchContextConfig() string {
	doc := benchEngineConfig()
	// Segments s0, s5, … (attributes and a score) also read the device;
	// s2, s7, … (purchases or cart) also the campaign's query parameter;
	// s4, s9, … (city and a viewed product) also the country, the visit
	// and the hour.
	doc = strings.ReplaceAll(doc, `attrs.tier == "gold" and`, `device.type == "mobile" and attrs.tier == "gold" and`)
	doc = strings.ReplaceAll(doc, `purchases.total_30d >`, `request.query("utm_source") == "newsletter" or purchases.total_30d >`)
	doc = strings.ReplaceAll(doc, `attrs.city in`, `geo.country == "FR" and visit.count >= 1 and time.hour >= 0 and attrs.city in`)
	doc = strings.ReplaceAll(doc, "    when: s3\n", "    when: 's3 and device.os != \"windows\"'\n")
	return doc
}

// benchContext is a phone in France, as personalize gives it: values
// already parsed (the User-Agent cache is measured in package personalize).
func benchContext() Context {
	return staticContext{
		req: RequestInfo{Path: "/c/shoes", Host: "shop.example", Referrer: "https://www.google.com/"},
		dev: DeviceInfo{Type: "mobile", OS: "ios", Browser: "safari"},
		geo: GeoInfo{Country: "FR", Region: "IDF", City: "Paris"},
	}
}

type staticContext struct {
	req RequestInfo
	dev DeviceInfo
	geo GeoInfo
}

func (c staticContext) Request() RequestInfo { return c.req }
func (c staticContext) Query(name string) string {
	if name == "utm_source" {
		return "newsletter"
	}
	return ""
}
func (c staticContext) Device() DeviceInfo { return c.dev }
func (c staticContext) Geo() GeoInfo       { return c.geo }

// BenchmarkDecideCampaigns is the decision of BenchmarkDecide3Slots with
// 1 to 1,000 campaigns, for the scale curve.
func BenchmarkDecideCampaigns(b *testing.B) {
	for _, n := range []int{1, 10, 100, 1000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) { benchDecide(b, benchEngineConfigN(n)) })
	}
}

// benchDecide measures the decision of BenchmarkDecide3Slots under the
// configuration doc.
func benchDecide(b *testing.B, doc string) { benchDecideCtx(b, doc, nil) }

// benchDecideCtx is benchDecide with request context src.
func benchDecideCtx(b *testing.B, doc string, src Context) {
	cfg, err := parseBench(doc)
	if err != nil {
		b.Fatal(err)
	}
	e, err := Compile(cfg)
	if err != nil {
		b.Fatal(err)
	}
	p := benchProfile(DayIndex(testNow, time.UTC))
	id := []byte("AVcCXIyPiPN6Pyb2tIp83w")
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		d := e.Acquire(p, id, testNow)
		if src != nil {
			d.SetContext(src)
		}
		buf = buf[:0]
		for _, s := range [...]string{"hero", "offer", "recs"} {
			if ch, ok := d.Choose(s); ok {
				buf, _ = d.AppendOffer(buf, ch)
			}
		}
		d.Release()
	}
}
