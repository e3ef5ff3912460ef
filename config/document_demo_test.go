package config_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/marquee-proxy/marquee/config"
	"github.com/marquee-proxy/marquee/internal/demo"
)

// TestDocumentDemo: the demo's decisions, as GET /v1/campaigns shows
// them, hold no null, empty or built-in-list noise, and PUT of them gives
// the same decisions.
func TestDocumentDemo(t *testing.T) {
	base, err := config.Parse("demo.yaml", append([]byte("origin: http://127.0.0.1:1\n"), demo.Config()...))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := base.Decisions().Document()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"null", `: ""`, ": []", ": {}", "schedule:", "cap:", "user_agents:", "control: false"} {
		if strings.Contains(string(doc), s) {
			t.Errorf("document holds %q:\n%s", s, doc)
		}
	}
	for _, s := range []string{"# bots.user_agents is not set: the built-in list of common crawlers is in force", "id: welcome-test", "holdout: 0.2", "control: true"} {
		if !strings.Contains(string(doc), s) {
			t.Errorf("document lacks %q:\n%s", s, doc)
		}
	}
	again, err := base.WithDecisions("put", doc)
	if err != nil {
		t.Fatalf("WithDecisions of the document:\n%s\n%v", doc, err)
	}
	if got, want := again.Decisions(), base.Decisions(); !reflect.DeepEqual(got, want) {
		t.Errorf("round trip changed the decisions:\n got %+v\nwant %+v", got, want)
	}
}
