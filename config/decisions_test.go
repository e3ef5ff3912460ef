package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

func TestWithDecisionsRoundTrip(t *testing.T) {
	base, err := Load("testdata/issue.yaml")
	if err != nil {
		t.Fatal(err)
	}
	out, err := yaml.Marshal(base.Decisions())
	if err != nil {
		t.Fatal(err)
	}
	again, err := base.WithDecisions("put", out)
	if err != nil {
		t.Fatalf("WithDecisions of its own output:\n%s\n%v", out, err)
	}
	if len(again.Campaigns) != 1 || again.Campaigns[0].ID != "gold-hero" || again.Segments[0].When != `attrs.tier == "gold"` {
		t.Errorf("round trip lost data: %+v", again.Decisions())
	}
	if again.Listen != base.Listen || again.Admin.Token != base.Admin.Token {
		t.Error("WithDecisions changed fields outside the decisions")
	}
}

// A relative catalog resolves against the config file's directory, and
// stays so through a GET and PUT of the decisions (which once joined the
// directory twice).
func TestCatalogPathRoundTrip(t *testing.T) {
	doc, err := os.ReadFile("testdata/issue.yaml")
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir(t.TempDir())
	if err := os.Mkdir("conf", 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile("conf/marquee.yaml", append(doc, "\ncatalog: catalog.json\n"...), 0o600); err != nil {
		t.Fatal(err)
	}
	base, err := Load("conf/marquee.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := filepath.Join("conf", "catalog.json")
	if got := base.CatalogPath(); got != want {
		t.Fatalf("CatalogPath: %q, want %q", got, want)
	}
	cfg := base
	for range 2 {
		out, err := yaml.Marshal(cfg.Decisions())
		if err != nil {
			t.Fatal(err)
		}
		if cfg, err = base.WithDecisions("put", out); err != nil {
			t.Fatal(err)
		}
		if got := cfg.CatalogPath(); got != want {
			t.Fatalf("after a round trip, CatalogPath: %q, want %q", got, want)
		}
	}
}

func TestWithDecisionsErrors(t *testing.T) {
	base, err := Load("testdata/issue.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ doc, want string }{
		{"listen: 127.0.0.1:1\n", `put:1: listen: unknown field "listen"`},
		{"campaigns:\n  - id: x\n    slot: hero\n", `put:2: campaigns[0].template: required`},
		{"global_holdout: 2\n", `put:1: global_holdout: 2: want a share`},
		{"campaigns: [\n", `put:1: invalid YAML`},
	} {
		_, err := base.WithDecisions("put", []byte(tt.doc))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("WithDecisions(%q): got %v, want %q", tt.doc, err, tt.want)
		}
	}
	for _, doc := range []string{"", "null", "[]", "# nothing\n"} {
		if _, err := base.WithDecisions("put", []byte(doc)); err == nil {
			t.Errorf("document %q accepted; it would remove every campaign", doc)
		}
	}
	none, err := base.WithDecisions("put", []byte("campaigns: []\n"))
	if err != nil || len(none.Campaigns) != 0 {
		t.Errorf("explicit empty list: %v, %d campaigns", err, len(none.Campaigns))
	}
}

// recommend_viewed is a decision: it comes in with a document and goes out
// with the decisions, in YAML and in JSON, and a document without it
// turns it off.
func TestRecommendViewedRoundTrip(t *testing.T) {
	base, err := Load("testdata/issue.yaml")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		doc  string
		want bool
	}{
		{"recommend_viewed: true\ncampaigns: []\n", true},
		{`{"recommend_viewed": true, "campaigns": []}`, true},
		{"campaigns: []\n", false},
	}
	for _, tt := range tests {
		cfg, err := base.WithDecisions("put", []byte(tt.doc))
		if err != nil {
			t.Fatalf("%q: %v", tt.doc, err)
		}
		out, err := yaml.Marshal(cfg.Decisions())
		if err != nil {
			t.Fatal(err)
		}
		again, err := base.WithDecisions("put", out)
		if err != nil {
			t.Fatal(err)
		}
		if cfg.RecommendViewed != tt.want || again.RecommendViewed != tt.want {
			t.Errorf("%q: recommend_viewed %v, after a round trip %v; want %v", tt.doc, cfg.RecommendViewed, again.RecommendViewed, tt.want)
		}
	}
}
