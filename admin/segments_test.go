package admin

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/marquee-proxy/marquee/internal/personalizetest"
	"github.com/marquee-proxy/marquee/personalize"
	"github.com/marquee-proxy/marquee/profile"
)

func TestGetSegments(t *testing.T) {
	env := personalizetest.Start(t, "segments:\n  gold: 'attrs.tier == \"gold\"'\n  big: 'score(\"propensity\") > 0.5'\n  nobody: 'false'\n", slotPage, personalize.Options{})
	for i := range 30 {
		tier := "silver"
		if i%3 == 0 {
			tier = "gold"
		}
		if _, err := env.Store.Update(fmt.Sprintf("v%02d", i), func(p *profile.Profile) error {
			p.Attrs = map[string]any{"tier": tier}
			p.Scores = map[string]float64{"propensity": float64(i) / 30}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	h, err := New(Options{Token: "s3cret", Store: env.Store, Personalizer: env.Pers})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()

	tests := []struct {
		name, method, token string
		status              int
		want                string // the body, for 200
	}{
		{"no token", "GET", "", http.StatusUnauthorized, ""},
		{"wrong token", "GET", "nope", http.StatusUnauthorized, ""},
		{"wrong method", "POST", "s3cret", http.StatusMethodNotAllowed, ""},
		{"a census of a small store", "GET", "s3cret", http.StatusOK,
			`{"profiles":30,"sampled":30,"exact":true,"segments":[` +
				`{"name":"gold","estimate":10,"low":10,"high":10,"sampled_members":10},` +
				`{"name":"big","estimate":14,"low":14,"high":14,"sampled_members":14},` +
				`{"name":"nobody","estimate":0,"low":0,"high":0,"sampled_members":0}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := adminDo(t, srv, tt.method, "/v1/segments", tt.token, "")
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, body)
			}
			if tt.status != http.StatusOK {
				var e struct {
					Error struct{ Code string } `json:"error"`
				}
				if err := json.Unmarshal(body, &e); err != nil || e.Error.Code == "" {
					t.Errorf("error body %s, want the common error shape", body)
				}
				return
			}
			var got map[string]any
			if err := json.Unmarshal(body, &got); err != nil {
				t.Fatal(err)
			}
			if _, ok := got["generated_at"].(string); !ok {
				t.Errorf("no generated_at in %s", body)
			}
			delete(got, "generated_at")
			gj, _ := json.Marshal(got)
			var want map[string]any
			_ = json.Unmarshal([]byte(tt.want), &want)
			wj, _ := json.Marshal(want)
			if string(gj) != string(wj) {
				t.Errorf("got  %s\nwant %s", gj, wj)
			}
		})
	}
}
