package personalize_test

import (
	"testing"

	"github.com/marquee-proxy/marquee/config"
	"github.com/marquee-proxy/marquee/internal/personalizetest"
	"github.com/marquee-proxy/marquee/personalize"

	"go.yaml.in/yaml/v3"
)

// FuzzWithDecisions compiles arbitrary decisions documents over a running
// configuration, as PUT /v1/campaigns and POST /v1/campaigns/validate do
// with what a client sends: decoding, validation and compilation together
// (config.Config.WithDecisionsPartial, then compile) must not panic, and
// every problem must come back as a config.Errors of messages, which the
// admin API lists with their lines.
func FuzzWithDecisions(f *testing.F) {
	cfg, err := config.Parse("t.yaml", []byte("origin: http://127.0.0.1:1\n"+personalizetest.GoldConfig))
	if err != nil {
		f.Fatal(err)
	}
	snap, err := personalize.Compile(cfg)
	if err != nil {
		f.Fatal(err)
	}
	own, err := yaml.Marshal(cfg.Decisions())
	if err != nil {
		f.Fatal(err)
	}
	for _, doc := range []string{
		string(own),
		"listen: 127.0.0.1:1\n",
		"campaigns:\n  - id: x\n    slot: hero\n",
		"global_holdout: 2\n",
		"campaigns: [\n",
		"", "null", "[]", "# nothing\n",
		"campaigns: []\n",
		"recommend_viewed: true\ncampaigns: []\n",
		`{"recommend_viewed": true, "campaigns": []}`,
		"segments:\n  - name: g\n    when: attrs.tier ==\ncampaigns:\n  - id: x\n    slot: hero\n    segment: g\n    template: '{{.Nope'\n",
	} {
		f.Add([]byte(doc))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		checkErrors(t, "config", doc, func() error {
			_, err := cfg.WithDecisionsPartial("put", doc)
			return err
		})
		checkErrors(t, "snapshot", doc, func() error {
			s, err := snap.WithDecisions("put", doc)
			if err == nil && s == nil {
				t.Fatalf("%q: neither a snapshot nor an error", doc)
			}
			return err
		})
	})
}

// checkErrors fails t unless call's error is nil or a non-empty
// config.Errors whose every entry says something.
func checkErrors(t *testing.T, what string, doc []byte, call func() error) {
	t.Helper()
	err := call()
	if err == nil {
		return
	}
	es, ok := err.(config.Errors)
	if !ok {
		t.Fatalf("%s: %q: error %T %v, want a config.Errors", what, doc, err, err)
	}
	if len(es) == 0 {
		t.Fatalf("%s: %q: an empty config.Errors", what, doc)
	}
	for _, e := range es {
		if e == nil || e.Msg == "" {
			t.Fatalf("%s: %q: a problem without a message in %v", what, doc, es)
		}
	}
}
