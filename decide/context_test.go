package decide

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/marquee-proxy/marquee/profile"
)

// fakeContext is a Context from fixed values that counts its calls.
type fakeContext struct {
	req                 RequestInfo
	query               map[string]string
	dev                 DeviceInfo
	geo                 GeoInfo
	nReq, nDev, nGeo, q int
}

func (c *fakeContext) Request() RequestInfo     { c.nReq++; return c.req }
func (c *fakeContext) Query(name string) string { c.q++; return c.query[name] }
func (c *fakeContext) Device() DeviceInfo       { c.nDev++; return c.dev }
func (c *fakeContext) Geo() GeoInfo             { c.nGeo++; return c.geo }

func TestContextNames(t *testing.T) {
	now := time.Date(2026, 12, 5, 21, 30, 0, 0, time.UTC) // a Saturday
	phone := &fakeContext{
		req:   RequestInfo{Path: "/sale/shoes", Host: "shop.example", Referrer: "https://news.example/"},
		query: map[string]string{"utm_source": "newsletter"},
		dev:   DeviceInfo{Type: "mobile", OS: "ios", Browser: "safari"},
		geo:   GeoInfo{Country: "FR", Region: "IDF", City: "Paris"},
	}
	returning := &profile.Profile{Sessions: 3, LastSeen: now.Add(-10 * time.Minute), Landing: "/home"}
	lapsed := &profile.Profile{Sessions: 3, LastSeen: now.Add(-31 * time.Minute), Landing: "/home"}
	tests := []struct {
		expr string
		p    *profile.Profile
		want bool
	}{
		{`request.path == "/sale/shoes"`, nil, true},
		{`request.path startsWith "/sale"`, nil, true},
		{`request.host == "shop.example"`, nil, true},
		{`request.referrer contains "news"`, nil, true},
		{`request.query("utm_source") == "newsletter"`, nil, true},
		{`request.query("nope") == ""`, nil, true},
		{`device.type == "mobile" and device.os == "ios" and device.browser == "safari"`, nil, true},
		{`device.type in ["tablet", "desktop"]`, nil, false},
		{`geo.country == "FR" and geo.region == "IDF" and geo.city == "Paris"`, nil, true},
		{`visit.new and visit.count == 1 and visit.landing == "/sale/shoes"`, nil, true},
		{`not visit.new and visit.count == 3 and visit.landing == "/home"`, returning, true},
		{`visit.new and visit.count == 4 and visit.landing == "/sale/shoes"`, lapsed, true},
		{`time.hour == 22 and time.weekday == "sat"`, nil, true}, // Europe/Paris
		{`time.weekday in ["sat", "sun"]`, nil, true},
		{`let device = 1; device == 1`, nil, true},
		{`geo?.country == "FR" and device["os"] == "ios"`, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			cfg := parse(t, "time_zone: Europe/Paris\nsegments:\n  s: '"+strings.ReplaceAll(tt.expr, "'", "''")+"'\n")
			e, err := Compile(cfg)
			if err != nil {
				t.Fatalf("Compile: %v", err)
			}
			p := tt.p
			if p == nil {
				p = &profile.Profile{}
			}
			d := e.Acquire(p, []byte("v"), now)
			defer d.Release()
			d.SetContext(phone)
			if got := d.segment(0); got != tt.want || d.Errors != 0 {
				t.Errorf("got %v (errors %d), want %v", got, d.Errors, tt.want)
			}
		})
	}
}

func TestContextUnknownNames(t *testing.T) {
	tests := []struct{ expr, want string }{
		{`device.colour == "red"`, `unknown name "device.colour"; known: device.browser, device.os, device.type`},
		{`device == "mobile"`, `device is not a value; use one of device.browser, device.os, device.type`},
		{`geo.zip == "75001"`, `unknown name "geo.zip"; known: geo.city, geo.country, geo.region`},
		{`request.query == "x"`, `request.query is called: request.query("NAME")`},
		{`request.query("a", "b") == "x"`, `request.query takes one argument, the parameter's name`},
		{`request.path.length > 3`, `request has no nested fields; known: request.host, request.path, request.query(NAME), request.referrer`},
		{`request.query(3) == "x"`, `request.query takes the parameter's name, a string`},
		{`visits.count > 1`, `unknown name "visits"`},
	}
	for _, root := range []string{"request", "device", "geo", "visit", "time"} {
		cfg := parse(t, "segments:\n  "+root+": 'true'\n")
		want := `m.yaml:3: segments.` + root + `: segment name "` + root + `" is already a name expressions use`
		if _, err := Compile(cfg); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("segment %s: got %v, want %s", root, err, want)
		}
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			cfg := parse(t, "segments:\n  s: '"+tt.expr+"'\n")
			_, err := Compile(cfg)
			// The expression is quoted between the field and the reason.
			if err == nil || !strings.HasPrefix(err.Error(), "m.yaml:3: segments.s: "+strconv.Quote(tt.expr)) || !strings.HasSuffix(err.Error(), tt.want) {
				t.Errorf("got %v, want m.yaml:3: segments.s: %q…: %s", err, tt.expr, tt.want)
			}
		})
	}
}

// TestContextNotCached: the same visitor (one profile snapshot) on a phone
// and then on a desktop gets each device's answer, while a segment of the
// profile alone is still served from the per-profile cache.
func TestContextNotCached(t *testing.T) {
	cfg := parse(t, `segments:
  mobile: 'device.type == "mobile"'
  gold: 'attrs.tier == "gold"'
  gold_mobile: 'gold and mobile'
campaigns:
  - {id: phone, slot: hero, when: gold_mobile, template: phone}
  - {id: desk, slot: hero, when: 'gold and device.type == "desktop"', template: desk}
`)
	e, err := Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if e.segments[0].stable || !e.segments[1].stable || e.segments[2].stable {
		t.Fatalf("stable = %v %v %v, want false true false", e.segments[0].stable, e.segments[1].stable, e.segments[2].stable)
	}
	p := &profile.Profile{Attrs: map[string]any{"tier": "gold"}}
	for i, dev := range []string{"mobile", "desktop", "mobile", "desktop"} {
		src := &fakeContext{dev: DeviceInfo{Type: dev}}
		d := e.Acquire(p, []byte("v"), testNow)
		d.SetContext(src)
		ch, ok := d.Choose("hero")
		want := map[string]string{"mobile": "phone", "desktop": "desk"}[dev]
		if !ok || ch.Campaign.ID != want {
			t.Errorf("request %d on %s: got %v %v, want %s", i, dev, ch.Campaign, ok, want)
		}
		if src.nDev != 1 {
			t.Errorf("request %d: Device called %d times, want 1", i, src.nDev)
		}
		d.Release()
	}
}

// TestContextLazy: a decision whose expressions read no context never asks
// for it.
func TestContextLazy(t *testing.T) {
	cfg := parse(t, `segments:
  gold: 'attrs.tier == "gold"'
  eu: 'geo.country in ["FR", "DE"]'
campaigns:
  - {id: a, slot: hero, when: gold, template: a}
  - {id: b, slot: side, when: eu, template: b}
`)
	e, err := Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	src := &fakeContext{geo: GeoInfo{Country: "FR"}}
	d := e.Acquire(&profile.Profile{Attrs: map[string]any{"tier": "gold"}}, []byte("v"), testNow)
	defer d.Release()
	d.SetContext(src)
	if _, ok := d.Choose("hero"); !ok {
		t.Fatal("hero not filled")
	}
	if src.nReq+src.nDev+src.nGeo != 0 {
		t.Errorf("context read for a profile-only condition: %+v", src)
	}
	if _, ok := d.Choose("side"); !ok {
		t.Fatal("side not filled")
	}
	if src.nGeo != 1 || src.nDev != 0 || src.nReq != 0 {
		t.Errorf("got %d geo, %d device, %d request calls, want 1, 0, 0", src.nGeo, src.nDev, src.nReq)
	}
}

// TestContextNil: without SetContext every name reads its zero value.
func TestContextNil(t *testing.T) {
	cfg := parse(t, "segments:\n  s: 'device.type == \"\" and request.query(\"x\") == \"\" and geo.city == \"\"'\n")
	e, err := Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	d := e.Acquire(&profile.Profile{}, []byte("v"), testNow)
	defer d.Release()
	if !d.segment(0) || d.Errors != 0 {
		t.Errorf("got false (errors %d), want true", d.Errors)
	}
}

// TestContextTrial: an expression that multiplies a request value past the
// byte budget is refused when compiled, as one over profile values is.
func TestContextTrial(t *testing.T) {
	cfg := parse(t, "segments:\n  s: 'len(repeat(request.query(\"q\"), 200)) > 0'\n")
	_, err := Compile(cfg)
	if err == nil || !strings.Contains(err.Error(), "m.yaml:3: segments.s: expression exceeds its evaluation budget") {
		t.Errorf("got %v, want a budget error on segments.s", err)
	}
}
