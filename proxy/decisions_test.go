package proxy

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	stdsync "sync"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	msync "github.com/marquee-proxy/marquee/sync"
)

// countingRecorder records exposures and conversions for assertions.
type countingRecorder struct {
	mu          stdsync.Mutex
	exposures   map[string]int
	conversions map[string]int
}

func newCountingRecorder() *countingRecorder {
	return &countingRecorder{exposures: map[string]int{}, conversions: map[string]int{}}
}

func (r *countingRecorder) Expose(c, v string, _ []byte) {
	r.mu.Lock()
	r.exposures[c+"/"+v]++
	r.mu.Unlock()
}

func (r *countingRecorder) Convert(c, v string, _ []byte) {
	r.mu.Lock()
	r.conversions[c+"/"+v]++
	r.mu.Unlock()
}

// snapshot copies m for a failure message, which may be printed while
// an update still records.
func (r *countingRecorder) snapshot(m map[string]int) map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return maps.Clone(m)
}

func (r *countingRecorder) get(m map[string]int, k string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return m[k]
}

const capConfig = `conversions: {paths: ["/checkout/complete"], window: 1d}
campaigns:
  - id: capped
    slot: hero
    priority: 10
    template: '<b>CAPPED</b>'
    cap: {max: 3, window: 1d}
`

// TestCapThroughProxy shows a capped offer three times, then the fallback:
// each exposure is written after its response, and the next request of the
// same visitor reads it.
func TestCapThroughProxy(t *testing.T) {
	env := startPersonalized(t, capConfig, slotPage)
	vid := string(env.pers.Signer().AppendMint(nil))
	var got []bool
	for range 5 {
		r := env.proxy.get(t, "GET", "/", "Cookie: mq_vid="+vid)
		got = append(got, strings.Contains(string(r.Body()), "CAPPED"))
	}
	want := []bool{true, true, true, false, false}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("offer shown per request: %v, want %v", got, want)
		}
	}
}

func TestBotsGetFallback(t *testing.T) {
	env := startPersonalized(t, goldConfig, slotPage)
	vid := string(env.pers.Signer().AppendMint(nil))
	env.store.Update(vid[:VisitorIDLen], func(p *msync.Profile) error {
		p.Attrs = map[string]any{"tier": "gold", "name": "Ada"}
		return nil
	})
	r := env.proxy.get(t, "GET", "/", "Cookie: mq_vid="+vid, "User-Agent: Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)")
	if string(r.Body()) != slotPage {
		t.Error("a crawler got a personalised page")
	}
	r = env.proxy.get(t, "GET", "/", "User-Agent: Googlebot/2.1")
	if len(r.Header.Peek("Set-Cookie")) != 0 {
		t.Error("a crawler was given a visitor cookie")
	}
	r = env.proxy.get(t, "GET", "/", "Cookie: mq_vid="+vid, "User-Agent: Mozilla/5.0 (X11; Linux x86_64) Chrome/120")
	if !strings.Contains(string(r.Body()), "Hello Ada") {
		t.Error("a browser did not get the offer")
	}
}

const experimentProxyConfig = `conversions: {paths: ["/checkout/complete"], window: 1d}
campaigns:
  - id: exp
    slot: hero
    template: base
    experiment:
      variants:
        - {name: a, template: '<b>VARIANT-A</b>', control: true}
        - {name: b, template: '<b>VARIANT-B</b>'}
`

func TestPreviewAndConversions(t *testing.T) {
	env := startPersonalized(t, experimentProxyConfig, slotPage)
	rec := newCountingRecorder()
	env.pers.recorder = rec
	vid := string(env.pers.Signer().AppendMint(nil))

	r := env.proxy.get(t, "GET", "/", "Cookie: mq_vid="+vid)
	body := string(r.Body())
	variant := "a"
	if strings.Contains(body, "VARIANT-B") {
		variant = "b"
	} else if !strings.Contains(body, "VARIANT-A") {
		t.Fatalf("no variant shown: %s", body)
	}
	if n := rec.get(rec.exposures, "exp/"+variant); n != 1 {
		t.Errorf("exposures of exp/%s: %d, want 1 (%v)", variant, n, rec.snapshot(rec.exposures))
	}
	other := map[string]string{"a": "b", "b": "a"}[variant]

	// A preview forces the other variant and is not counted.
	tok := env.pers.Signer().SignPreview("exp", other, time.Now().Add(time.Hour))
	r = env.proxy.get(t, "GET", "/?"+PreviewParam+"="+tok, "Cookie: mq_vid="+vid)
	if !strings.Contains(string(r.Body()), "VARIANT-"+strings.ToUpper(other)) {
		t.Errorf("preview of variant %s not shown", other)
	}
	if rec.get(rec.exposures, "exp/"+other) != 0 || rec.get(rec.exposures, "exp/"+variant) != 1 {
		t.Errorf("a preview was counted: %v", rec.snapshot(rec.exposures))
	}
	expired := env.pers.Signer().SignPreview("exp", other, time.Now().Add(-time.Second))
	r = env.proxy.get(t, "GET", "/", "Cookie: mq_vid="+vid, PreviewHeader+": "+expired)
	if strings.Contains(string(r.Body()), "VARIANT-"+strings.ToUpper(other)) {
		t.Error("an expired preview token was honoured")
	}

	// Reaching the conversion page credits the variant seen, once.
	for range 2 {
		env.proxy.get(t, "GET", "/checkout/complete", "Cookie: mq_vid="+vid)
	}
	env.pers.updates.wait([]byte(vid[:VisitorIDLen]))
	if n := rec.get(rec.conversions, "exp/"+variant); n != 1 {
		t.Errorf("conversions of exp/%s: %d, want 1 (%v)", variant, n, rec.snapshot(rec.conversions))
	}
}

func TestDecideEndpoint(t *testing.T) {
	env := startPersonalized(t, goldConfig, slotPage)
	vid := string(env.pers.Signer().AppendMint(nil))
	env.store.Update(vid[:VisitorIDLen], func(p *msync.Profile) error {
		p.Attrs = map[string]any{"tier": "gold", "name": "<i>Ada</i>"}
		return nil
	})
	r := env.proxy.get(t, "GET", "/_marquee/decide?slots=hero,recs", "Cookie: mq_vid="+vid)
	var out struct {
		Visitor string                   `json:"visitor"`
		Slots   map[string]*SlotDecision `json:"slots"`
	}
	if err := json.Unmarshal(r.Body(), &out); err != nil {
		t.Fatalf("%v: %s", err, r.Body())
	}
	if out.Visitor != vid[:VisitorIDLen] || out.Slots["hero"] == nil || out.Slots["hero"].Campaign != "gold-hero" ||
		out.Slots["hero"].HTML != "<b>Hello &lt;i&gt;Ada&lt;/i&gt;, gold offer</b>" {
		t.Errorf("decide answer: %s", r.Body())
	}
	if _, ok := out.Slots["recs"]; !ok || out.Slots["recs"] != nil {
		t.Errorf("recs: want null, got %s", r.Body())
	}
	if cc := string(r.Header.Peek("Cache-Control")); !strings.Contains(cc, "no-store") {
		t.Errorf("Cache-Control %q", cc)
	}
	var many []string
	for i := range 30 {
		many = append(many, fmt.Sprintf("s%d", i))
	}
	for _, bad := range []string{"/_marquee/decide", "/_marquee/decide?slots=" + strings.Join(many, ","), "/_marquee/nothing"} {
		if r := env.proxy.get(t, "GET", bad); r.StatusCode() < 400 || r.StatusCode() >= 500 {
			t.Errorf("%s: status %d", bad, r.StatusCode())
		}
	}
	// A slot named twice is decided once.
	r = env.proxy.get(t, "GET", "/_marquee/decide?slots=hero,hero,hero", "Cookie: mq_vid="+vid)
	if !strings.Contains(string(r.Body()), "gold-hero") || r.StatusCode() != 200 {
		t.Errorf("repeated slot: %d %s", r.StatusCode(), r.Body())
	}
	// A visitor who opted out with Global Privacy Control gets nothing.
	r = env.proxy.get(t, "GET", "/_marquee/decide?slots=hero", "Cookie: mq_vid="+vid, "Sec-GPC: 1")
	if strings.Contains(string(r.Body()), "gold-hero") {
		t.Errorf("Sec-GPC: 1 still personalised: %s", r.Body())
	}
	// A new visitor gets a cookie.
	if r := env.proxy.get(t, "GET", "/_marquee/decide?slots=hero"); len(r.Header.Peek("Set-Cookie")) == 0 {
		t.Error("no cookie minted for a new visitor")
	}
}

func TestAdminCampaignsReplaceAndExplain(t *testing.T) {
	env := startPersonalized(t, goldConfig, slotPage)
	h, err := NewAdmin(AdminOptions{Store: env.store, Personalizer: env.pers})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()

	code, body := call(t, srv, "PUT", "/v1/campaigns", "", "campaigns:\n  - id: x\n    slot: hero\n    when: nosuch\n    template: y\n")
	if code != 400 || errField(body, "code") != CodeInvalidConfig || !strings.Contains(strings.Join(toStrings(body), " "), `body:4: campaigns[0].when: unknown segment "nosuch"`) {
		t.Errorf("bad PUT: %d %v", code, body)
	}
	if env.pers.Snapshot().Version != 0 {
		t.Error("a refused PUT changed the configuration")
	}
	code, body = call(t, srv, "PUT", "/v1/campaigns", "", "campaigns:\n  - {id: everyone, slot: hero, template: '<b>NEW</b>'}\n")
	if code != 200 || env.pers.Snapshot().Version != 1 {
		t.Fatalf("PUT: %d %v", code, body)
	}
	if r := env.proxy.get(t, "GET", "/"); !strings.Contains(string(r.Body()), "<b>NEW</b>") {
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
	if code != 200 || !strings.HasPrefix(body["query"].(string), PreviewParam+"=") {
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
	h, err := NewAdmin(AdminOptions{Store: env.store, Personalizer: env.pers})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()

	stop := make(chan struct{})
	var wg stdsync.WaitGroup
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
				r := env.proxy.get(t, "GET", "/")
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
	if r := env.proxy.get(t, "GET", "/"); !strings.Contains(string(r.Body()), "<b>V20</b>") {
		t.Errorf("after the last reload: %s", r.Body())
	}
}

func TestConversionByEvent(t *testing.T) {
	env := startPersonalized(t, `conversions: {events: [purchase], window: 1d}
campaigns:
  - {id: promo, slot: hero, template: '<b>PROMO</b>'}
`, slotPage)
	rec := newCountingRecorder()
	env.pers.recorder = rec
	vid := string(env.pers.Signer().AppendMint(nil))
	if r := env.proxy.get(t, "GET", "/", "Cookie: mq_vid="+vid); !strings.Contains(string(r.Body()), "PROMO") {
		t.Fatal("no offer shown")
	}
	env.pers.updates.wait([]byte(vid[:VisitorIDLen]))
	h, err := NewAdmin(AdminOptions{Store: env.store, Personalizer: env.pers})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	ev := fmt.Sprintf(`[{"id":"e1","type":"purchase","visitor":%q,"ts":%q,"value":42}]`, vid[:VisitorIDLen], time.Now().UTC().Format(time.RFC3339))
	if code, body := call(t, srv, "POST", "/v1/events", "", ev); code != 200 {
		t.Fatalf("events: %d %v", code, body)
	}
	env.pers.updates.wait([]byte(vid[:VisitorIDLen])) // the conversion is credited after the profile update
	if n := rec.get(rec.conversions, "promo/"+DefaultVariant); n != 1 {
		t.Errorf("conversions: %v, want promo/default once", rec.snapshot(rec.conversions))
	}
}

func TestConversionByEventCountsOnce(t *testing.T) {
	env := startPersonalized(t, "conversions: {events: [purchase], window: 1d}\ncampaigns:\n  - {id: promo, slot: hero, template: '<b>PROMO</b>'}\n", slotPage)
	rec := newCountingRecorder()
	env.pers.recorder = rec
	vid := string(env.pers.Signer().AppendMint(nil))
	env.proxy.get(t, "GET", "/", "Cookie: mq_vid="+vid)
	id := vid[:VisitorIDLen]
	env.pers.updates.wait([]byte(id))
	at := time.Now().Add(-time.Minute) // a backend clock a minute behind
	for range 3 {
		env.pers.ConvertEvent(id, "purchase", at)
		env.pers.updates.wait([]byte(id))
	}
	env.pers.ConvertEvent(id, "view", at)
	if n := rec.get(rec.conversions, "promo/"+DefaultVariant); n != 1 {
		t.Errorf("conversions: %v, want promo/default once", rec.snapshot(rec.conversions))
	}
}

func TestAdminCampaignsAsJSON(t *testing.T) {
	env := startPersonalized(t, goldConfig+"global_holdout: 0.1\n", slotPage)
	h, err := NewAdmin(AdminOptions{Store: env.store, Personalizer: env.pers})
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
	// What GET gives as JSON, PUT takes back.
	_, body := get("application/json")
	if code, out := call(t, srv, "PUT", "/v1/campaigns", "", string(body)); code != 200 || env.pers.Snapshot().Version != 1 {
		t.Fatalf("PUT of the JSON document: %d %v", code, out)
	}
	if r := env.proxy.get(t, "GET", "/"); r.StatusCode() != 200 {
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
