package decide

import (
	"fmt"
	"strings"
	"testing"

	"github.com/marquee-proxy/marquee/config"
)

func parse(t *testing.T, yaml string) *config.Config {
	t.Helper()
	c, err := config.Parse("m.yaml", []byte("origin: http://o:1\n"+yaml))
	if err != nil {
		t.Fatalf("config.Parse: %v", err)
	}
	return c
}

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string
	}{
		{"unknown segment in when", `segments:
  gold: 'attrs.tier == "gold"'
campaigns:
  - id: a
    slot: hero
    when: gold or platinum
    template: x
`, []string{`m.yaml:7: campaigns[0].when: "gold or platinum" at column 9: unknown segment "platinum"; segments: gold`}},
		{"unknown name in segment", `segments:
  gold: 'atrs.tier == "gold"'
`, []string{`m.yaml:3: segments.gold: "atrs.tier == \"gold\"" at column 1: unknown name "atrs"`}},
		{"syntax error", `segments:
  gold: 'attrs.tier =='
`, []string{`m.yaml:3: segments.gold: "attrs.tier ==" at column 13: unexpected token EOF`}},
		{"not boolean", `segments:
  gold: 'purchases.count + 1'
`, []string{`m.yaml:3: segments.gold: "purchases.count + 1": expected bool`}},
		{"wrong argument type", `segments:
  e: 'views(3, "7d") > 1'
`, []string{`m.yaml:3: segments.e:`}},
		{"hidden helper", `segments:
  e: '__seg(0)'
`, []string{`m.yaml:3: segments.e: "__seg(0)" at column 1: unknown name "__seg"`}},
		{"cycle", `segments:
  a: b
  b: c and true
  c: a
`, []string{`m.yaml:3: segments.a: segments refer to each other in a cycle: a → b → c → a`}},
		{"in_segment of an unknown segment", `segments:
  a: 'in_segment("nope")'
`, []string{`m.yaml:3: segments.a: "in_segment(\"nope\")" at column 12: unknown name "nope"`}},
		{"cycle through in_segment", `segments:
  a: 'in_segment("b")'
  b: a
`, []string{`segments refer to each other in a cycle: a → b → a`}},
		{"self reference", `segments:
  a: a or true
`, []string{`segments refer to each other in a cycle: a → a`}},
		{"template does not parse", `campaigns:
  - id: a
    slot: hero
    template: '<b>{{.Profile.Attrs.name</b>'
`, []string{`m.yaml:5: campaigns[0].template: template does not parse`}},
		{"template bad function", `campaigns:
  - id: a
    slot: hero
    template: '{{nosuchfunc 1}}'
`, []string{`m.yaml:5: campaigns[0].template: template does not parse: line 1: function "nosuchfunc" not defined`}},
		{"plain form: the column is in the text as written", `segments:
  gold: 'cart_value > 5 AND purchase_history.count = = 2'
`, []string{`m.yaml:3: segments.gold: "cart_value > 5 AND purchase_history.count = = 2" at column 45: unexpected token Operator("==")`}},
		{"multi-line expression", "segments:\n  gold: |\n    attrs.tier == \"gold\"\n    and views(\"x\", 7) > 1\n",
			[]string{`m.yaml:3: segments.gold: "attrs.tier == \"gold\"\nand views(\"x\", 7) > 1\n" at line 2, column 16: cannot use int as argument (type string) to call views`}},
		{"unknown segment without segments", `campaigns:
  - id: a
    slot: hero
    when: gold
    template: x
`, []string{`m.yaml:5: campaigns[0].when: "gold" at column 1: unknown segment "gold"; no segments are defined`}},
		{"template unknown profile field", `campaigns:
  - id: a
    slot: hero
    template: '<p>{{.Profile.Tier}}</p>'
`, []string{`m.yaml:5: campaigns[0].template: template: line 1: {{.Profile.Tier}}: Profile has no field "Tier"; fields: ID, Attrs, Scores, Consent, Cart, Purchases, Views, Custom, Recent, Sessions, LastSeen, Landing, SessionStart, Links, Variants, Exposures, Updated`}},
		{"template unknown top-level field", "campaigns:\n  - id: a\n    slot: hero\n    template: \"<p>\\n{{.Tier}}</p>\"\n",
			[]string{`m.yaml:5: campaigns[0].template: template: line 2: {{.Tier}}: an offer template sees no field "Tier"; fields: Profile`}},
		{"template unknown field of a nested value", `campaigns:
  - id: a
    slot: hero
    template: '{{.Profile.Cart.Total}}'
`, []string{`m.yaml:5: campaigns[0].template: template: line 1: {{.Profile.Cart.Total}}: Cart has no field "Total"; fields: Items, UpdatedAt`}},
		{"expression too big", "segments:\n  big: '" + strings.Repeat("true and ", 1200) + "true'\n",
			[]string{`m.yaml:3: segments.big:`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Compile(parse(t, tt.yaml))
			if err == nil {
				t.Fatal("Compile succeeded, want an error")
			}
			for _, w := range tt.want {
				if strings.Contains(err.Error(), "*") || strings.Contains(err.Error(), "offerData") {
					t.Errorf("got\n%v\nwhich names a Go type", err)
				}
				if !strings.Contains(err.Error(), w) {
					t.Errorf("got\n%v\nwant it to contain %q", err, w)
				}
			}
		})
	}
}

func TestCompileOrdersCampaignsBySlot(t *testing.T) {
	e, err := Compile(parse(t, `segments:
  gold: 'attrs.tier == "gold"'
  rich: 'purchases.total_30d > 500 and views("electronics", "7d") >= 3 and gold'
  either: 'let x = 2; in_segment("gold") or rich or x > 1'
campaigns:
  - {id: low, slot: hero, priority: 1, template: a}
  - {id: b-high, slot: hero, priority: 10, when: rich, template: b}
  - {id: a-high, slot: hero, priority: 10, when: gold and not rich, template: c}
  - {id: recs, slot: recs, template: '{{.Profile.Attrs.name}}'}
`))
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	var got []string
	for _, c := range e.bySlot["hero"] {
		got = append(got, c.ID)
	}
	if want := "a-high b-high low"; strings.Join(got, " ") != want {
		t.Errorf("hero campaigns: got %q, want %q", strings.Join(got, " "), want)
	}
	if n := len(e.Campaigns()); n != 4 {
		t.Errorf("got %d campaigns, want 4", n)
	}
}

func parseBench(yaml string) (*config.Config, error) {
	return config.Parse("bench.yaml", []byte("origin: http://o:1\n"+yaml))
}

// TestUnknownSegmentListsSome: an unknown segment error lists the
// segments there are, a bounded number of them.
func TestUnknownSegmentListsSome(t *testing.T) {
	var b strings.Builder
	b.WriteString("segments:\n")
	for i := range 30 {
		fmt.Fprintf(&b, "  s%02d: 'true'\n", i)
	}
	b.WriteString("campaigns:\n  - {id: a, slot: hero, when: nope, template: x}\n")
	_, err := Compile(parse(t, b.String()))
	want := `"nope" at column 1: unknown segment "nope"; segments: s00, s01, s02, s03, s04, s05, s06, s07, s08, s09, s10, s11, s12, s13, s14, s15, s16, s17, s18, s19, …`
	if err == nil || !strings.HasSuffix(err.Error(), want) {
		t.Errorf("got %v, want it to end with %s", err, want)
	}
}
