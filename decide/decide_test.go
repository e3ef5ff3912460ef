package decide

import (
	"testing"
	"time"

	"github.com/marquee-proxy/marquee/profile"
)

var testNow = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

func TestChooseAndRender(t *testing.T) {
	e, err := Compile(parse(t, `segments:
  gold: 'attrs.tier == "gold"'
  fan: 'views("electronics", "7d") >= 3'
  adult: 'attrs.age >= 18'
campaigns:
  - id: gold-hero
    slot: hero
    when: gold
    priority: 10
    template: '<b>Hello {{.Profile.Attrs.name}}, gold offer</b>'
  - id: fan-hero
    slot: hero
    when: fan
    priority: 5
    template: '<i>electronics</i>'
  - id: adult-offer
    slot: offer
    when: adult
    priority: 20
    template: 'adults'
  - id: default-offer
    slot: offer
    template: 'everyone'
`))
	if err != nil {
		t.Fatal(err)
	}
	today := DayIndex(testNow, time.UTC)
	tests := []struct {
		name      string
		p         *profile.Profile
		hero      string
		heroOffer string
		offer     string
		errors    int
	}{
		{"gold with a script name", &profile.Profile{Attrs: map[string]any{"tier": "gold", "name": "<script>alert(1)</script>"}},
			"gold-hero", "<b>Hello &lt;script&gt;alert(1)&lt;/script&gt;, gold offer</b>", "default-offer", 1},
		{"electronics fan", &profile.Profile{Views: map[string][]profile.DayCount{"electronics": {{Day: today - 8, Count: 9}, {Day: today - 6, Count: 2}, {Day: today, Count: 1}}}},
			"fan-hero", "<i>electronics</i>", "default-offer", 1},
		{"old views do not count", &profile.Profile{Views: map[string][]profile.DayCount{"electronics": {{Day: today - 7, Count: 9}}}},
			"", "", "default-offer", 1},
		{"adult", &profile.Profile{Attrs: map[string]any{"age": 30.0}}, "", "", "adult-offer", 0},
		{"string age is a runtime error that skips the campaign", &profile.Profile{Attrs: map[string]any{"age": "thirty"}}, "", "", "default-offer", 1},
		{"empty profile", &profile.Profile{}, "", "", "default-offer", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := e.Acquire(tt.p, []byte("visitor"), testNow)
			defer d.Release()
			c, ok := d.Choose("hero")
			if got := id(c); got != tt.hero {
				t.Fatalf("hero: got %q, want %q", got, tt.hero)
			}
			if ok {
				out, err := d.AppendOffer(nil, c)
				if err != nil || string(out) != tt.heroOffer {
					t.Errorf("hero offer: got %q, %v; want %q", out, err, tt.heroOffer)
				}
			}
			if got := id(first(d.Choose("offer"))); got != tt.offer {
				t.Errorf("offer: got %q, want %q", got, tt.offer)
			}
			if got := id(first(d.Choose("nosuchslot"))); got != "" {
				t.Errorf("unknown slot: got %q", got)
			}
			if d.Errors != tt.errors {
				t.Errorf("runtime errors: got %d, want %d", d.Errors, tt.errors)
			}
		})
	}
}

func TestSegmentsMemoisedAndNested(t *testing.T) {
	e, err := Compile(parse(t, `segments:
  gold: 'attrs.tier == "gold"'
  rich: 'scores.ltv > 1000'
  vip: 'gold and rich'
  either: 'in_segment("gold") or rich'
`))
	if err != nil {
		t.Fatal(err)
	}
	d := e.Acquire(&profile.Profile{Attrs: map[string]any{"tier": "gold"}, Scores: map[string]float64{"ltv": 5000}}, []byte("visitor"), testNow)
	defer d.Release()
	for _, s := range e.Explain(d.p, []byte("visitor"), testNow).Segments {
		if !s.Value {
			t.Errorf("segment %s: got false, want true", s.Name)
		}
	}
}

func id(c Choice) string {
	if c.Campaign == nil {
		return ""
	}
	return c.Campaign.ID
}

func first(c Choice, _ bool) Choice { return c }

func TestOfferCacheFollowsSnapshots(t *testing.T) {
	e, err := Compile(parse(t, `campaigns:
  - {id: hi, slot: hero, template: 'Hi {{.Profile.Attrs.name}}'}
`))
	if err != nil {
		t.Fatal(err)
	}
	render := func(p *profile.Profile) string {
		d := e.Acquire(p, []byte("visitor"), testNow)
		defer d.Release()
		out, err := d.AppendOffer([]byte("prefix:"), first(d.Choose("hero")))
		if err != nil {
			t.Fatal(err)
		}
		return string(out)
	}
	v1 := &profile.Profile{Attrs: map[string]any{"name": "Ada"}}
	if got := render(v1); got != "prefix:Hi Ada" {
		t.Fatalf("got %q", got)
	}
	if got := render(v1); got != "prefix:Hi Ada" {
		t.Fatalf("cached: got %q", got)
	}
	v2 := v1.Clone()
	v2.Attrs["name"] = "Grace"
	if got := render(v2); got != "prefix:Hi Grace" {
		t.Errorf("after an update: got %q, want the new name", got)
	}
}
