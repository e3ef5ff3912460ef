package admin

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/marquee-proxy/marquee/internal/apierror"
	"github.com/marquee-proxy/marquee/internal/personalizetest"
	"github.com/marquee-proxy/marquee/personalize"
	"github.com/marquee-proxy/marquee/profile"
)

// editorClock is a clock a test moves by hand.
type editorClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *editorClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *editorClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// startEditor serves the admin API with token over a personalising proxy
// running goldConfig, with a clock the test moves, and stores Ada, a gold
// visitor.
func startEditor(t *testing.T, token string) (*httptest.Server, *personalizetest.Env, *editorClock) {
	t.Helper()
	clock := &editorClock{t: time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)}
	env := personalizetest.Start(t, goldConfig, slotPage, personalize.Options{Now: clock.now})
	if _, err := env.Store.Update("ada", func(p *profile.Profile) error {
		p.Attrs = map[string]any{"tier": "gold", "name": "Ada"}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(mustNew(t, Options{Token: token, Store: env.Store, Personalizer: env.Pers, PreviewURL: "http://shop.test:8000/"}))
	t.Cleanup(srv.Close)
	return srv, env, clock
}

// previewDraft is the running configuration plus a campaign it does not
// have, in an experiment.
const previewDraft = goldConfig + `  - id: draft-offer
    slot: offer
    template: base
    experiment:
      variants:
        - {name: a, template: '<i>A for {{or .Profile.Attrs.name "you"}}</i>', control: true}
        - {name: b, template: '<i>B for {{or .Profile.Attrs.name "you"}}</i>'}
`

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func TestPreviewCampaign(t *testing.T) {
	srv, env, _ := startEditor(t, "tok")
	tests := []struct {
		name, body         string
		html               string // the offer, exactly
		variant, slot      string
		eligible           bool
		reason             string
		draft, pageVisitor bool
	}{
		{
			name: "running campaign for a stored visitor", body: `{"campaign": "gold-hero", "visitor": "ada"}`,
			html: "<b>Hello Ada, gold offer</b>", slot: "hero", eligible: true, reason: "chosen", pageVisitor: true,
		},
		{
			name: "running campaign for a new visitor", body: `{"campaign": "gold-hero", "url": "/c/shoes?x=1"}`,
			html: "<b>Hello , gold offer</b>", slot: "hero", reason: "condition is false",
		},
		{
			name: "draft campaign, default variant", body: `{"campaign": "draft-offer", "document": ` + jsonString(previewDraft) + `}`,
			html: "<i>A for you</i>", variant: "a", slot: "offer", eligible: true, reason: "chosen", draft: true,
		},
		{
			name: "draft campaign, named variant, as a visitor", body: `{"campaign": "draft-offer", "variant": "b", "visitor": "ada", "document": ` + jsonString(previewDraft) + `}`,
			html: "<i>B for Ada</i>", variant: "b", slot: "offer", eligible: true, reason: "chosen", draft: true, pageVisitor: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, data := adminDo(t, srv, "POST", "/v1/campaigns/preview", "tok", tt.body)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, data)
			}
			var got editorPreview
			if err := json.Unmarshal(data, &got); err != nil {
				t.Fatal(err)
			}
			if got.HTML != tt.html || got.Variant != tt.variant || got.Slot != tt.slot || got.Eligible != tt.eligible || got.Reason != tt.reason {
				t.Errorf("got html %q variant %q slot %q eligible %v reason %q, want %q %q %q %v %q",
					got.HTML, got.Variant, got.Slot, got.Eligible, got.Reason, tt.html, tt.variant, tt.slot, tt.eligible, tt.reason)
			}
			// A link naming a visitor shows their page to whoever opens it:
			// it lives a quarter of an hour, a draft's alone an hour.
			want := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
			if tt.pageVisitor {
				want = time.Date(2026, 12, 7, 9, 15, 0, 0, time.UTC)
			}
			if exp, err := time.Parse(time.RFC3339, got.Expires); err != nil || !exp.Equal(want) {
				t.Errorf("got expires %q, want %v", got.Expires, want)
			}
			if !strings.HasPrefix(got.PageURL, "http://shop.test:8000/") || !strings.HasSuffix(got.PageURL, personalize.PreviewParam+"="+got.Token) {
				t.Errorf("got page_url %q", got.PageURL)
			}
			pv, err := env.Pers.Signer().VerifyPreview([]byte(got.Token), time.Date(2026, 12, 7, 9, 10, 0, 0, time.UTC))
			if err != nil || pv.Campaign != got.Campaign || (pv.Held != "") != (tt.draft || tt.pageVisitor) {
				t.Errorf("token %q reads %+v, %v", got.Token, pv, err)
			}
			// The offer is served without the token, sandboxed.
			oresp, odata := adminDo(t, srv, "GET", got.OfferURL, "", "")
			if oresp.StatusCode != 200 || !strings.Contains(string(odata), tt.html) || !strings.Contains(string(odata), `<base href="http://shop.test:8000/">`) {
				t.Errorf("offer %s: %d %s", got.OfferURL, oresp.StatusCode, odata)
			}
		})
	}
}

func TestPreviewOfferHeadersAndExpiry(t *testing.T) {
	srv, _, clock := startEditor(t, "tok")
	code, body := call(t, srv, "POST", "/v1/campaigns/preview", "tok", `{"campaign": "gold-hero", "visitor": "ada"}`)
	if code != 200 {
		t.Fatalf("%d %v", code, body)
	}
	offer := body["offer_url"].(string)
	if len(offer) != len(offerPath)+22 {
		t.Errorf("offer_url %q does not end in a 128-bit id", offer)
	}
	resp, _ := adminDo(t, srv, "GET", offer, "", "")
	for k, want := range map[string]string{
		"Content-Security-Policy": "sandbox; default-src 'none'; img-src * data:; style-src 'unsafe-inline' *; font-src *; frame-ancestors 'self'",
		"X-Content-Type-Options":  "nosniff",
		"Cache-Control":           "no-store",
		"Referrer-Policy":         "no-referrer",
		"Content-Type":            "text/html; charset=utf-8",
	} {
		if got := resp.Header.Get(k); got != want {
			t.Errorf("%s: got %q, want %q", k, got, want)
		}
	}
	for _, tt := range []struct {
		name  string
		after time.Duration
		path  string
		code  int
	}{
		{"fresh", 9 * time.Minute, offer, 200},
		{"unknown id", 0, offerPath + "AAAAAAAAAAAAAAAAAAAAAA", 404},
		{"malformed id", 0, offerPath + "x", 404},
		{"expired", 2 * time.Minute, offer, 404},
	} {
		clock.advance(tt.after)
		if resp, data := adminDo(t, srv, "GET", tt.path, "", ""); resp.StatusCode != tt.code {
			t.Errorf("%s: got %d %s, want %d", tt.name, resp.StatusCode, data, tt.code)
		}
	}
}

func TestPreviewCampaignRefusals(t *testing.T) {
	srv, env, _ := startEditor(t, "tok")
	optOut(t, env, "olga")
	tests := []struct {
		name, body  string
		code        int
		errCode     string
		field       string
		problemLine float64
	}{
		{"no campaign", `{}`, 400, apierror.CodeInvalidField, "campaign", 0},
		{"unknown campaign", `{"campaign": "nope"}`, 400, apierror.CodeInvalidField, "campaign", 0},
		{"unknown variant", `{"campaign": "draft-offer", "variant": "z", "document": ` + jsonString(previewDraft) + `}`, 400, apierror.CodeInvalidField, "variant", 0},
		{"variant without experiment", `{"campaign": "gold-hero", "variant": "a"}`, 400, apierror.CodeInvalidField, "variant", 0},
		{"draft campaign without the draft", `{"campaign": "draft-offer"}`, 400, apierror.CodeInvalidField, "campaign", 0},
		{"unknown visitor", `{"campaign": "gold-hero", "visitor": "nobody"}`, 404, apierror.CodeNotFound, "visitor", 0},
		{"bad visitor id", `{"campaign": "gold-hero", "visitor": "a b"}`, 400, apierror.CodeInvalidID, "visitor", 0},
		{"opted-out visitor", `{"campaign": "gold-hero", "visitor": "olga"}`, 400, apierror.CodeInvalidField, "visitor", 0},
		{"opted-out visitor, draft", `{"campaign": "draft-offer", "visitor": "olga", "document": ` + jsonString(previewDraft) + `}`, 400, apierror.CodeInvalidField, "visitor", 0},
		{"bad url", `{"campaign": "gold-hero", "url": "http://evil.test/"}`, 400, apierror.CodeInvalidField, "url", 0},
		{"unknown field", `{"campaign": "gold-hero", "slot": "hero"}`, 400, apierror.CodeUnknownField, "slot", 0},
		{"draft with a problem", `{"campaign": "x", "document": "campaigns:\n  - id: x\n    slot: hero\n    when: nosuch\n    template: y\n"}`, 400, apierror.CodeInvalidConfig, "", 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := call(t, srv, "POST", "/v1/campaigns/preview", "tok", tt.body)
			e, _ := body["error"].(map[string]any)
			if code != tt.code || e["code"] != tt.errCode || errField(body, "field") != tt.field {
				t.Fatalf("got %d %v, want %d %s naming %q", code, body, tt.code, tt.errCode, tt.field)
			}
			if tt.field == "visitor" && tt.code == 400 && tt.errCode == apierror.CodeInvalidField {
				if msg, _ := e["message"].(string); !strings.Contains(msg, "opted out") {
					t.Errorf("message %q does not say the visitor opted out", msg)
				}
			}
			if tt.problemLine > 0 {
				ps, _ := e["problems"].([]any)
				if len(ps) != 1 || ps[0].(map[string]any)["line"] != tt.problemLine || ps[0].(map[string]any)["field"] != "campaigns[0].when" {
					t.Errorf("got problems %v", e["problems"])
				}
			}
		})
	}
	if code, _ := call(t, srv, "POST", "/v1/campaigns/preview", "", `{"campaign": "gold-hero"}`); code != 401 {
		t.Errorf("preview without the token: %d, want 401", code)
	}
}

// optOut stores visitor id as a gold visitor who withdrew consent to
// personalisation.
func optOut(t *testing.T, env *personalizetest.Env, id string) {
	t.Helper()
	no := false
	if _, err := env.Store.Update(id, func(p *profile.Profile) error {
		p.Attrs = map[string]any{"tier": "gold", "name": id}
		p.Consent.Personalization = &no
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// TestPreviewLinkHidesVisitor checks that a page preview link names no
// visitor in any encoding: the shop's own scripts and analytics read the
// page's address.
func TestPreviewLinkHidesVisitor(t *testing.T) {
	srv, env, _ := startEditor(t, "tok")
	for _, id := range []string{"ada", "cust:1042@shop.example", "c-000000000000000000000000001042"} {
		if _, err := env.Store.Update(id, func(p *profile.Profile) error {
			p.Attrs = map[string]any{"tier": "gold"}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct{ name, visitor, document string }{
		{"short id", "ada", ""},
		{"customer id", "cust:1042@shop.example", ""},
		{"long id, with a draft", "c-000000000000000000000000001042", jsonString(previewDraft)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := `{"campaign": "gold-hero", "visitor": ` + jsonString(tt.visitor)
			if tt.document != "" {
				body += `, "document": ` + tt.document
			}
			code, got := call(t, srv, "POST", "/v1/campaigns/preview", "tok", body+"}")
			if code != 200 {
				t.Fatalf("%d %v", code, got)
			}
			v := []byte(tt.visitor)
			encodings := map[string]string{
				"plain":            tt.visitor,
				"query-escaped":    url.QueryEscape(tt.visitor),
				"path-escaped":     url.PathEscape(tt.visitor),
				"base64url":        base64.RawURLEncoding.EncodeToString(v),
				"padded base64url": base64.URLEncoding.EncodeToString(v),
				"std base64":       base64.StdEncoding.EncodeToString(v),
				"raw std base64":   base64.RawStdEncoding.EncodeToString(v),
				"hex":              hex.EncodeToString(v),
			}
			for _, field := range []string{"token", "page_url"} {
				s, _ := got[field].(string)
				if s == "" {
					t.Fatalf("no %s in %v", field, got)
				}
				for enc, e := range encodings {
					if strings.Contains(strings.ToLower(s), strings.ToLower(e)) {
						t.Errorf("%s %q holds the visitor id %s (%q)", field, s, enc, e)
					}
				}
			}
		})
	}
}

// TestPreviewVisitorPage opens the page preview link of a visitor through
// the proxy: it shows that visitor's page until they opt out (then the
// campaign for the browser's own visitor) or the quarter of an hour is up
// (then the page is no preview at all).
func TestPreviewVisitorPage(t *testing.T) {
	srv, env, clock := startEditor(t, "tok")
	if _, err := env.Store.Update("cara", func(p *profile.Profile) error {
		p.Attrs = map[string]any{"tier": "gold", "name": "Cara"}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	link := func(visitor string) string {
		t.Helper()
		code, got := call(t, srv, "POST", "/v1/campaigns/preview", "tok", `{"campaign": "gold-hero", "visitor": `+jsonString(visitor)+`}`)
		if code != 200 {
			t.Fatalf("%d %v", code, got)
		}
		return strings.TrimPrefix(got["page_url"].(string), "http://shop.test:8000")
	}
	ada, cara := link("ada"), link("cara")
	optOut(t, env, "cara") // after her link was minted
	// The browser is a new visitor: a preview shows it the campaign with
	// its empty profile, and a page without a preview the shop's own hero.
	const asAda, asBrowser, ordinary = "<b>Hello Ada, gold offer</b>", "<b>Hello , gold offer</b>", "Free shipping"
	tests := []struct {
		name  string
		after time.Duration // since minting
		path  string
		show  string
		hide  []string
	}{
		{"as Ada", 0, ada, asAda, nil},
		{"Cara opted out since", 0, cara, asBrowser, []string{"Cara", "cara"}},
		{"as Ada, a second before the end", 15*time.Minute - time.Second, ada, asAda, nil},
		{"as Ada, at the end", 15 * time.Minute, ada, ordinary, []string{"Ada"}},
	}
	start := clock.now()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock.advance(start.Add(tt.after).Sub(clock.now()))
			page := string(env.Proxy.Get(t, "GET", tt.path).Body())
			if !strings.Contains(page, tt.show) {
				t.Errorf("page lacks %q:\n%s", tt.show, page)
			}
			for _, h := range tt.hide {
				if strings.Contains(page, h) {
					t.Errorf("page shows %q:\n%s", h, page)
				}
			}
		})
	}
}
