package admin

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/marquee-proxy/marquee/internal/apierror"
	"github.com/marquee-proxy/marquee/internal/personalizetest"
	"github.com/marquee-proxy/marquee/personalize"
	"go.yaml.in/yaml/v3"
)

func TestAdminCampaignsReplaceAndExplain(t *testing.T) {
	env := startPersonalized(t, goldConfig, slotPage)
	h, err := New(Options{Store: env.Store, Personalizer: env.Pers})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()

	code, body := call(t, srv, "PUT", "/v1/campaigns", "", "campaigns:\n  - id: x\n    slot: hero\n    when: nosuch\n    template: y\n")
	if code != 400 || errField(body, "code") != apierror.CodeInvalidConfig || !strings.Contains(strings.Join(toStrings(body), " "), `body:4: campaigns[0].when: "nosuch" at column 1: unknown segment "nosuch"`) {
		t.Errorf("bad PUT: %d %v", code, body)
	}
	if env.Pers.Snapshot().Version != 0 {
		t.Error("a refused PUT changed the configuration")
	}
	code, body = call(t, srv, "PUT", "/v1/campaigns", "", "campaigns:\n  - {id: everyone, slot: hero, template: '<b>NEW</b>'}\n")
	if code != 200 || env.Pers.Snapshot().Version != 1 {
		t.Fatalf("PUT: %d %v", code, body)
	}
	if r := env.Proxy.Get(t, "GET", "/"); !strings.Contains(string(r.Body()), "<b>NEW</b>") {
		t.Error("the new campaign is not served")
	}
	code, body = call(t, srv, "GET", "/v1/explain?visitor=abc&url=/", "", "")
	if code != 200 || body["visitor"] != "abc" {
		t.Errorf("explain: %d %v", code, body)
	}
	cs, _ := body["campaigns"].([]any)
	if len(cs) != 1 || cs[0].(map[string]any)["reason"] != "chosen" {
		t.Errorf("explain campaigns: %v", body["campaigns"])
	}
	code, body = call(t, srv, "POST", "/v1/preview", "", `{"campaign":"everyone","ttl":"2h"}`)
	if code != 200 || !strings.HasPrefix(body["query"].(string), personalize.PreviewParam+"=") {
		t.Errorf("preview: %d %v", code, body)
	}
	if code, _ := call(t, srv, "POST", "/v1/preview", "", `{"campaign":"nope"}`); code != 400 {
		t.Errorf("preview of an unknown campaign: %d", code)
	}
}

func toStrings(body map[string]any) []string {
	e, _ := body["error"].(map[string]any)
	var out []string
	d, _ := e["details"].([]any)
	for _, x := range d {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}

// TestReloadUnderLoad replaces the campaigns again and again while
// visitors keep requesting: every response succeeds and carries the old
// offer or the new one, never a mix or an error.
func TestReloadUnderLoad(t *testing.T) {
	env := startPersonalized(t, "campaigns:\n  - {id: v0, slot: hero, template: '<b>V0</b>'}\n", slotPage)
	h, err := New(Options{Store: env.Store, Personalizer: env.Pers})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()

	stop := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 2000; i++ {
				select {
				case <-stop:
					return
				default:
				}
				r := env.Proxy.Get(t, "GET", "/")
				b := string(r.Body())
				if r.StatusCode() != 200 || (!strings.Contains(b, "<b>V") && b != slotPage) {
					errs <- fmt.Sprintf("status %d body %q", r.StatusCode(), b)
					return
				}
				if strings.Count(b, "<b>V") > 1 {
					errs <- "two versions on one page: " + b
					return
				}
			}
		}()
	}
	for v := 1; v <= 20; v++ {
		doc := fmt.Sprintf("campaigns:\n  - {id: v%d, slot: hero, template: '<b>V%d</b>'}\n", v, v)
		if code, body := call(t, srv, "PUT", "/v1/campaigns", "", doc); code != 200 {
			t.Fatalf("PUT %d: %d %v", v, code, body)
		}
	}
	close(stop)
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	if r := env.Proxy.Get(t, "GET", "/"); !strings.Contains(string(r.Body()), "<b>V20</b>") {
		t.Errorf("after the last reload: %s", r.Body())
	}
}

func TestConversionByEvent(t *testing.T) {
	rec := personalizetest.NewRecorder()
	env := personalizetest.Start(t, `conversions: {events: [purchase], window: 1d}
campaigns:
  - {id: promo, slot: hero, template: '<b>PROMO</b>'}
`, slotPage, personalize.Options{Recorder: rec})
	vid := string(env.Pers.Signer().AppendMint(nil))
	if r := env.Proxy.Get(t, "GET", "/", "Cookie: mq_vid="+vid); !strings.Contains(string(r.Body()), "PROMO") {
		t.Fatal("no offer shown")
	}
	env.Pers.Wait([]byte(vid[:personalize.VisitorIDLen]))
	h, err := New(Options{Store: env.Store, Personalizer: env.Pers})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	ev := fmt.Sprintf(`[{"id":"e1","type":"purchase","visitor":%q,"ts":%q,"value":42}]`, vid[:personalize.VisitorIDLen], time.Now().UTC().Format(time.RFC3339))
	if code, body := call(t, srv, "POST", "/v1/events", "", ev); code != 200 {
		t.Fatalf("events: %d %v", code, body)
	}
	env.Pers.Wait([]byte(vid[:personalize.VisitorIDLen])) // the conversion is credited after the profile update
	if n := rec.Conversions()["promo/"+personalize.DefaultVariant]; n != 1 {
		t.Errorf("conversions: %v, want promo/default once", rec.Conversions())
	}
}

func TestAdminCampaignsAsJSON(t *testing.T) {
	env := startPersonalized(t, goldConfig+"global_holdout: 0.1\n", slotPage)
	h, err := New(Options{Store: env.Store, Personalizer: env.Pers})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	get := func(accept string) (*http.Response, []byte) {
		t.Helper()
		req, _ := http.NewRequest("GET", srv.URL+"/v1/campaigns", nil)
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp, body
	}
	tests := []struct {
		accept string
		json   bool
	}{
		{"", false},
		{"*/*", false},
		{"application/yaml", false},
		{"application/json", true},
		{"text/html, application/json;q=0.9", true},
		{"APPLICATION/JSON", true},
		{"application/json;q=0", false},
		{"application/json; q=0.0, application/yaml", false},
	}
	for _, tt := range tests {
		resp, body := get(tt.accept)
		ct := resp.Header.Get("Content-Type")
		if tt.json != (ct == "application/json") || resp.StatusCode != 200 || resp.Header.Get("Vary") != "Accept" {
			t.Errorf("Accept %q: %d, Content-Type %q, Vary %q", tt.accept, resp.StatusCode, ct, resp.Header.Get("Vary"))
		}
		if resp.Header.Get("X-Marquee-Config-Version") != "0" {
			t.Errorf("Accept %q: no config version", tt.accept)
		}
		if !tt.json {
			continue
		}
		// The same document as the YAML form, key for key.
		var fromJSON, fromYAML any
		if err := json.Unmarshal(body, &fromJSON); err != nil {
			t.Fatal(err)
		}
		_, y := get("")
		if err := yaml.Unmarshal(y, &fromYAML); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(normalizeJSON(t, fromJSON), normalizeJSON(t, fromYAML)) {
			t.Errorf("JSON %s\nis not the YAML document\n%s", body, y)
		}
		cs, _ := fromJSON.(map[string]any)["campaigns"].([]any)
		if len(cs) != 1 || cs[0].(map[string]any)["id"] != "gold-hero" || fromJSON.(map[string]any)["global_holdout"] != 0.1 {
			t.Errorf("JSON document: %s", body)
		}
	}
	// What is not set is left out, and the YAML says which crawler list
	// is in force.
	if _, y := get(""); strings.Contains(string(y), "null") || strings.Contains(string(y), "[]") || !strings.Contains(string(y), "# bots.user_agents is not set: the built-in list") {
		t.Errorf("YAML document:\n%s", y)
	}
	// What GET gives as JSON, PUT takes back.
	_, body := get("application/json")
	if code, out := call(t, srv, "PUT", "/v1/campaigns", "", string(body)); code != 200 || env.Pers.Snapshot().Version != 1 {
		t.Fatalf("PUT of the JSON document: %d %v", code, out)
	}
	if r := env.Proxy.Get(t, "GET", "/"); r.StatusCode() != 200 {
		t.Fatalf("page after the round trip: %d", r.StatusCode())
	}
}

// normalizeJSON passes v through JSON, so that numbers and maps of a YAML
// and a JSON decoding compare alike.
func normalizeJSON(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}
