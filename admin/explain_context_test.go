package admin

import (
	"net/http/httptest"
	"net/url"
	"testing"
)

// TestExplainContext: /v1/explain evaluates request rules on the request
// its parameters describe.
func TestExplainContext(t *testing.T) {
	env := startPersonalized(t, `segments:
  phone: 'device.type == "mobile"'
campaigns:
  - {id: phone, slot: hero, priority: 9, when: phone, template: P}
  - {id: news, slot: hero, priority: 8, when: 'request.query("utm_source") == "mail" and request.path == "/c/shoes"', template: N}
  - {id: fr, slot: hero, priority: 7, when: 'geo.country == "FR"', template: F}
`, slotPage)
	h, err := New(Options{Store: env.Store, Personalizer: env.Pers})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	tests := []struct {
		name   string
		params url.Values
		want   string // the chosen campaign, "" for none
		status int
	}{
		{"phone", url.Values{"user_agent": {"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"}}, "phone", 200},
		{"page with query", url.Values{"url": {"/c/shoes?utm_source=mail"}}, "news", 200},
		{"country", url.Values{"country": {"fr"}}, "fr", 200},
		{"nothing said", url.Values{}, "", 200},
		{"bad ip", url.Values{"ip": {"nope"}}, "", 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.params.Set("visitor", "abc")
			code, body := call(t, srv, "GET", "/v1/explain?"+tt.params.Encode(), "", "")
			if code != tt.status {
				t.Fatalf("status %d, want %d: %v", code, tt.status, body)
			}
			if code != 200 {
				return
			}
			got := ""
			cs, _ := body["campaigns"].([]any)
			for _, c := range cs {
				if m := c.(map[string]any); m["chosen"] == true {
					got = m["id"].(string)
				}
			}
			if got != tt.want {
				t.Errorf("chosen %q, want %q: %v", got, tt.want, body["campaigns"])
			}
		})
	}
}
