package config

import (
	"reflect"
	"strings"
	"testing"
)

// everyField is a decisions document that sets every key, with values
// whose zero or absence would mean something else where that matters (a
// weight of 0, cuped false).
const everyField = `origin: http://127.0.0.1:1
slots:
  - {name: hero, selector: '#hero', mode: outer}
segments:
  gold: attrs.tier == "gold"
  silver: attrs.tier == "silver"
campaigns:
  - id: a
    slot: hero
    when: gold
    priority: 3
    template: '<b>{{.Profile.Attrs.name}}</b>'
    schedule:
      from: 2026-12-01T00:00:00Z
      to: 2026-12-24T00:00:00Z
      days: [mon, tue]
      hours: ['09:00-17:30']
      time_zone: Europe/Paris
    cap: {max: 2, window: 3d}
    experiment:
      id: exp-a
      salt: s2
      holdout: 0.1
      layer: hero-tests
      metrics: [conversion, aov]
      primary: aov
      guardrails: [conversion]
      analysis: fixed
      cuped: false
      variants:
        - {name: one, weight: 2, control: true}
        - {name: two, weight: 0, template: '<i>two</i>'}
  - id: b
    slot: hero
    template: plain
global_holdout: 0.05
salt: pepper
catalog: catalog.json
conversions:
  paths: [/checkout/complete]
  events: [purchase]
  window: 3d
bots:
  user_agents: [examplebot]
`

// TestDocumentRoundTrip: the document GET /v1/campaigns shows leaves out
// what is not set, and PUT of it gives back the same decisions, for a
// config using every key and for a nearly empty one.
func TestDocumentRoundTrip(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string
		absent  []string // text the document must not hold
		present []string
	}{
		{"every field", everyField, []string{"null", `""`, "[]", "{}", "priority: 0", "control: false", "bots.user_agents is not set"},
			[]string{"weight: 0", "cuped: false", "control: true", "holdout: 0.1", "global_holdout: 0.05", "user_agents:\n        - examplebot", "id: exp-a", "salt: s2"}},
		{"defaults", "origin: http://127.0.0.1:1\ncampaigns:\n  - {id: a, slot: hero, template: x}\n",
			[]string{"null", `""`, "[]", "{}", "schedule", "cap", "when", "priority", "global_holdout", "user_agents:", "catalog"},
			[]string{"# " + botsNote, "salt: marquee", "window: 7d"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base, err := Parse("t.yaml", []byte(tt.yaml))
			if err != nil {
				t.Fatal(err)
			}
			doc, err := base.Decisions().Document()
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range tt.absent {
				if strings.Contains(string(doc), s) {
					t.Errorf("document holds %q:\n%s", s, doc)
				}
			}
			for _, s := range tt.present {
				if !strings.Contains(string(doc), s) {
					t.Errorf("document lacks %q:\n%s", s, doc)
				}
			}
			again, err := base.WithDecisions("put", doc)
			if err != nil {
				t.Fatalf("WithDecisions of the document:\n%s\n%v", doc, err)
			}
			if got, want := again.Decisions(), base.Decisions(); !reflect.DeepEqual(got, want) {
				t.Errorf("round trip changed the decisions:\n got %+v\nwant %+v\ndocument:\n%s", got, want, doc)
			}
		})
	}
}
