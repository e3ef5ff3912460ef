package admin

import (
	"encoding/json"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/marquee-proxy/marquee/internal/apierror"
)

func TestValidateCampaigns(t *testing.T) {
	env := startPersonalized(t, goldConfig, slotPage)
	srv := httptest.NewServer(mustNew(t, Options{Store: env.Store, Personalizer: env.Pers}))
	defer srv.Close()

	tests := []struct {
		name                string
		doc                 string
		ok                  bool
		segments, campaigns int
		problems            []apierror.Problem
	}{
		{
			name: "good YAML", ok: true, segments: 1, campaigns: 2,
			doc: "segments:\n  gold: 'attrs.tier == \"gold\"'\ncampaigns:\n  - {id: a, slot: hero, when: gold, template: '<b>A</b>'}\n  - {id: b, slot: offer, template: '<i>B</i>'}\n",
		},
		{
			name: "good JSON", ok: true, segments: 0, campaigns: 1,
			doc: `{"campaigns": [{"id": "a", "slot": "hero", "template": "<b>A</b>"}]}`,
		},
		{
			name: "several problems in document order", segments: 1, campaigns: 3,
			doc: "segments:\n  gold: 'attrs.tier == \"gold\"'\ncampaigns:\n" +
				"  - id: a\n    slot: hero\n    when: nosuch\n    template: x\n" +
				"  - id: b\n    slot: offer\n    template: '{{.Profile.Attrs.name'\n" +
				"  - id: c\n    slot: recs\n    when: 'gold and'\n    template: y\n",
			problems: []apierror.Problem{
				{Line: 6, Field: "campaigns[0].when", Message: `"nosuch" at column 1: unknown segment "nosuch"; segments: gold`},
				{Line: 10, Field: "campaigns[1].template"},
				{Line: 13, Field: "campaigns[2].when"},
			},
		},
		{
			name:     "unreadable YAML",
			doc:      "campaigns: [\n",
			problems: []apierror.Problem{{Line: 1}},
		},
		{
			name:     "empty document",
			doc:      "",
			problems: []apierror.Problem{{}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, data := adminDo(t, srv, "POST", "/v1/campaigns/validate", "", tt.doc)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, data)
			}
			var got validation
			if err := json.Unmarshal(data, &got); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(data), `"problems": [`) {
				t.Errorf("problems is not an array: %s", data)
			}
			if got.OK != tt.ok || got.Segments != tt.segments || got.Campaigns != tt.campaigns {
				t.Errorf("got ok=%v segments=%d campaigns=%d, want %v %d %d", got.OK, got.Segments, got.Campaigns, tt.ok, tt.segments, tt.campaigns)
			}
			if len(got.Problems) < len(tt.problems) || (tt.problems == nil && len(got.Problems) > 0) {
				t.Fatalf("got problems %+v, want %+v", got.Problems, tt.problems)
			}
			for i, want := range tt.problems {
				p := got.Problems[i]
				if p.Line != want.Line || p.Field != want.Field || p.Message == "" || (want.Message != "" && p.Message != want.Message) {
					t.Errorf("problem %d: got %+v, want %+v", i, p, want)
				}
			}
		})
	}
	if v := env.Pers.Snapshot().Version; v != 0 {
		t.Errorf("validate changed the running configuration: version %d", v)
	}
}

// TestValidateAgreesWithPut sends the same documents to validate and to
// PUT: what validate finds is exactly what PUT refuses, field by field.
func TestValidateAgreesWithPut(t *testing.T) {
	env := startPersonalized(t, goldConfig, slotPage)
	srv := httptest.NewServer(mustNew(t, Options{Store: env.Store, Personalizer: env.Pers}))
	defer srv.Close()
	for _, doc := range []string{
		"campaigns:\n  - {id: a, slot: hero, when: nosuch, template: x}\n  - {id: a, slot: hero, template: y}\n",
		"segments:\n  s: 'attrs.tier =='\ncampaigns: []\n",
		"campaigns:\n  - {id: a, slot: hero, template: '<b>ok</b>'}\n",
	} {
		code, v := call(t, srv, "POST", "/v1/campaigns/validate", "", doc)
		if code != 200 {
			t.Fatalf("validate: %d %v", code, v)
		}
		code, put := call(t, srv, "PUT", "/v1/campaigns", "", doc)
		if v["ok"] == true {
			if code != 200 {
				t.Errorf("validate accepted what PUT refused: %d %v", code, put)
			}
			continue
		}
		e, _ := put["error"].(map[string]any)
		if code != 400 || e["code"] != apierror.CodeInvalidConfig || len(toStrings(put)) != len(v["problems"].([]any)) {
			t.Fatalf("PUT: %d %v", code, put)
		}
		if !reflect.DeepEqual(e["problems"], v["problems"]) {
			t.Errorf("PUT's problems %v, validate's %v", e["problems"], v["problems"])
		}
	}
}

func TestValidateCampaignsTooLarge(t *testing.T) {
	env := startPersonalized(t, goldConfig, slotPage)
	srv := httptest.NewServer(mustNew(t, Options{Store: env.Store, Personalizer: env.Pers}))
	defer srv.Close()
	big := "campaigns: []\n# " + strings.Repeat("x", maxAdminBody) + "\n"
	code, body := call(t, srv, "POST", "/v1/campaigns/validate", "", big)
	if code != 413 || errField(body, "code") != apierror.CodeTooLarge {
		t.Errorf("got %d %v, want 413 too_large", code, body)
	}
}
