package admin

import (
	"fmt"
	"testing"
	"time"
)

func TestPostEvents(t *testing.T) {
	now := time.Now().UTC().Format(time.RFC3339)
	old := time.Now().AddDate(-1, 0, 0).UTC().Format(time.RFC3339)
	tests := []struct {
		name   string
		body   string
		status int
		want   []string // per item: status[:field]
	}{
		{"array", `[{"id":"a1","type":"view","visitor":"v1","category":"Electronics "},{"id":"a2","type":"purchase","customer":"c1","value":12.5,"currency":"EUR"}]`, 200, []string{"accepted", "accepted"}},
		{"ndjson with a bad line", "{\"id\":\"n1\",\"type\":\"view\",\"visitor\":\"v1\",\"category\":\"x\"}\n\n{\"id\":\"n2\",\"type\":\"dance\",\"visitor\":\"v1\"}\n{\"id\":\"n3\",\"type\":\"view\",\"visitor\":\"v1\",\"category\":\"x\",\"colour\":1}\n{not json}\n", 200, []string{"accepted", "rejected:type", "rejected:colour", "rejected"}},
		{"duplicate in batch", `[{"id":"d1","type":"view","visitor":"v1","category":"x"},{"id":"d1","type":"view","visitor":"v1","category":"x"}]`, 200, []string{"accepted", "duplicate"}},
		{"time bounds", fmt.Sprintf(`[{"id":"t1","type":"view","visitor":"v1","category":"x","ts":%q},{"id":"t2","type":"view","visitor":"v1","category":"x","ts":%q},{"id":"t3","type":"view","visitor":"v1","category":"x","ts":"yesterday"}]`, now, old), 200, []string{"accepted", "rejected:ts", "rejected:ts"}},
		{"zero time", `[{"id":"z1","type":"view","visitor":"v1","category":"x","ts":"0001-01-01T00:00:00Z"}]`, 200, []string{"rejected:ts"}},
		{"wrong type", `[{"id":"w1","type":"view","visitor":"v1","category":"x","value":"12"}]`, 200, []string{"rejected:value"}},
		{"no person", `[{"id":"p1","type":"view","category":"x"}]`, 200, []string{"rejected:visitor"}},
		{"broken array", `[{"id":"b1"`, 400, nil},
		{"empty", ``, 400, nil},
	}
	srv, st := newAdminTest(t, "")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := call(t, srv, "POST", "/v1/events", "", tt.body)
			if code != tt.status {
				t.Fatalf("status: got %d, want %d (%v)", code, tt.status, body)
			}
			if tt.want == nil {
				if errField(body, "code") == "" {
					t.Errorf("error shape: %v", body)
				}
				return
			}
			results, _ := body["results"].([]any)
			if len(results) != len(tt.want) {
				t.Fatalf("results: got %d, want %d (%v)", len(results), len(tt.want), body)
			}
			for i, r := range results {
				m := r.(map[string]any)
				got := m["status"].(string)
				if e, ok := m["error"].(map[string]any); ok && e["field"] != nil && e["field"] != "" {
					got += ":" + e["field"].(string)
				}
				if got != tt.want[i] {
					t.Errorf("item %d: got %q, want %q (%v)", i, got, tt.want[i], m)
				}
			}
		})
	}
	p, _ := st.Get("v1")
	if p == nil || p.Views["electronics"] == nil {
		t.Fatalf("normalised category missing: %+v", p)
	}
	// A retried batch is applied once.
	code, body := call(t, srv, "POST", "/v1/events", "", `[{"id":"a1","type":"view","visitor":"v1","category":"electronics"}]`)
	if code != 200 || body["duplicates"].(float64) != 1 {
		t.Errorf("retry: %d %v", code, body)
	}
	if got := st.Rules().DedupWindow; got != 24*time.Hour {
		t.Errorf("dedup window: got %v", got)
	}
}

func TestPatchProfileAndErase(t *testing.T) {
	srv, st := newAdminTest(t, "")
	const id = "cust-7"
	call(t, srv, "PUT", "/v1/profiles/"+id, "", `{"attrs":{"tier":"gold","name":"Ada"},"scores":{"p":0.5}}`)
	tests := []struct {
		name, body string
		status     int
		check      func(attrs map[string]any) bool
	}{
		{"merge", `{"attrs":{"tier":"silver","city":"Oslo"}}`, 200, func(a map[string]any) bool { return a["tier"] == "silver" && a["name"] == "Ada" && a["city"] == "Oslo" }},
		{"null removes", `{"attrs":{"city":null}}`, 200, func(a map[string]any) bool { _, ok := a["city"]; return !ok && a["name"] == "Ada" }},
		{"bad value", `{"attrs":{"x":{"y":1}}}`, 400, nil},
		{"unknown field", `{"views":{}}`, 400, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := call(t, srv, "PATCH", "/v1/profiles/"+id, "", tt.body)
			if code != tt.status {
				t.Fatalf("status: got %d, want %d (%v)", code, tt.status, body)
			}
			if tt.check != nil {
				p, _ := st.Get(id)
				if !tt.check(p.Attrs) {
					t.Errorf("attrs after patch: %v", p.Attrs)
				}
			}
		})
	}
	if p, _ := st.Get(id); p.Scores["p"] != 0.5 {
		t.Errorf("patch of attrs changed scores: %v", p.Scores)
	}
	// Erasure: gone, and an old event under a new id does not bring it back.
	if code, _ := call(t, srv, "DELETE", "/v1/profiles/"+id, "", ""); code != 204 {
		t.Fatalf("DELETE: %d", code)
	}
	past := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	code, body := call(t, srv, "POST", "/v1/events", "", fmt.Sprintf(`[{"id":"replay-1","type":"view","customer":%q,"category":"x","ts":%q}]`, id, past))
	if code != 200 || body["rejected"].(float64) != 1 {
		t.Errorf("replayed old event: %d %v", code, body)
	}
	if code, _ := call(t, srv, "GET", "/v1/profiles/"+id, "", ""); code != 404 {
		t.Errorf("GET after erasure and replay: %d, want 404", code)
	}
}

func TestImportAPI(t *testing.T) {
	srv, st := newAdminTest(t, "")
	body := "{\"id\":\"u1\",\"attrs\":{\"tier\":\"gold\"},\"scores\":{\"propensity\":0.9}}\n{\"id\":\"bad id\"}\n{\"id\":\"u2\",\"attrs\":{\"tier\":\"basic\"}}\n"
	code, out := call(t, srv, "POST", "/v1/import", "", body)
	if code != 200 || out["imported"].(float64) != 2 || out["rejected"].(float64) != 1 {
		t.Fatalf("import: %d %v", code, out)
	}
	rj := out["rejects"].([]any)[0].(map[string]any)
	if rj["line"].(float64) != 2 {
		t.Errorf("reject line: got %v, want 2", rj["line"])
	}
	if p, _ := st.Get("u1"); p == nil || p.Scores["propensity"] != 0.9 {
		t.Errorf("imported profile: %+v", p)
	}
}
