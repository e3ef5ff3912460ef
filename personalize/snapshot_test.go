package personalize

import (
	"errors"
	"strings"
	"testing"

	"github.com/marquee-proxy/marquee/config"
)

// A slots: selector naming a raw text element, and an expression past the
// evaluation budget, are config errors located in the file: refused alike
// at start, on SIGHUP, through PUT /v1/campaigns and from a cluster peer,
// which all compile through here.
func TestCompileRefusesHostileDocuments(t *testing.T) {
	for _, tt := range []struct{ doc, want string }{
		{"slots:\n  - name: hero\n    selector: '#hero'\n  - name: s\n    selector: 'head > SCRIPT'\n", "t.yaml:6: slots[1].selector"},
		{"slots:\n  - name: s\n    selector: textarea.note\n", "raw text"},
		{"segments:\n  big: 'len(replace(repeat(\"a\", 400000), \"a\", repeat(\"b\", 400000))) > 0'\n", "t.yaml:3: segments.big"},
	} {
		cfg, err := config.Parse("t.yaml", []byte("origin: http://127.0.0.1:1\n"+tt.doc))
		if err != nil {
			t.Fatalf("config.Parse: %v", err)
		}
		_, err = Compile(cfg)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: got %v, want an error with %q", tt.doc, err, tt.want)
		}
	}
}

// TestWithDecisionsEveryProblem: a decisions document (PUT
// /v1/campaigns, the console's validation, a cluster peer) gets every
// problem of decoding, validation and compiling at once, in document
// order, as the file does under check.
func TestWithDecisionsEveryProblem(t *testing.T) {
	cfg, err := config.Parse("t.yaml", []byte("origin: http://127.0.0.1:1\n"))
	if err != nil {
		t.Fatal(err)
	}
	base, err := Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, doc string
		want      []string
	}{
		{"decoding, validation and compiling", `segments:
  gold: attrs.tier == "gold"
campaigns:
  - id: a
    slot: hero
    colour: red
    when: goldd
    template: '{{.Profile.Tier}}'
    schedule: {hours: ['9-5']}
`, []string{
			`doc:6: campaigns[0].colour: unknown field "colour"`,
			`doc:7: campaigns[0].when: "goldd" at column 1: unknown segment "goldd"; segments: gold`,
			`doc:8: campaigns[0].template: template: line 1: {{.Profile.Tier}}: Profile has no field "Tier"`,
			`doc:9: campaigns[0].schedule.hours[0]: "9-5": want a range HH:MM-HH:MM`,
		}},
		{"a template that did not decode is not also missing", `campaigns:
  - id: a
    slot: hero
    template: {a: b}
    when: nope
`, []string{
			`doc:4: campaigns[0].template: want a string, got a mapping`,
			`doc:5: campaigns[0].when: "nope" at column 1: unknown segment "nope"; no segments are defined`,
		}},
		{"experiment weights all invalid", `campaigns:
  - id: a
    slot: hero
    template: x
    experiment: {variants: [{name: a, weight: -1}], holdout: 1}
`, []string{
			`doc:5: campaigns[0].experiment.holdout: 1: want a share`,
			`doc:5: campaigns[0].experiment.variants[0].weight: -1: want a weight of 0 or more`,
			`doc:5: campaigns[0].experiment.variants: every variant has weight 0`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := base.WithDecisions("doc", []byte(tt.doc))
			var errs config.Errors
			if !errors.As(err, &errs) {
				t.Fatalf("got %v, want config.Errors", err)
			}
			if len(errs) != len(tt.want) {
				t.Errorf("got %d problems, want %d:\n%v", len(errs), len(tt.want), err)
			}
			for i, e := range errs {
				if i < len(tt.want) && !strings.HasPrefix(e.Error(), tt.want[i]) {
					t.Errorf("problem %d: got %q, want it to start with %q", i, e, tt.want[i])
				}
			}
		})
	}
}
