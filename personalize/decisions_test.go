package personalize_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/marquee-proxy/marquee/internal/personalizetest"
	"github.com/marquee-proxy/marquee/personalize"
	"github.com/marquee-proxy/marquee/profile"
)

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
	vid := string(env.Pers.Signer().AppendMint(nil))
	var got []bool
	for range 5 {
		r := env.Proxy.Get(t, "GET", "/", "Cookie: mq_vid="+vid)
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
	vid := string(env.Pers.Signer().AppendMint(nil))
	env.Store.Update(vid[:personalize.VisitorIDLen], func(p *profile.Profile) error {
		p.Attrs = map[string]any{"tier": "gold", "name": "Ada"}
		return nil
	})
	r := env.Proxy.Get(t, "GET", "/", "Cookie: mq_vid="+vid, "User-Agent: Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)")
	if string(r.Body()) != slotPage {
		t.Error("a crawler got a personalised page")
	}
	r = env.Proxy.Get(t, "GET", "/", "User-Agent: Googlebot/2.1")
	if len(r.Header.Peek("Set-Cookie")) != 0 {
		t.Error("a crawler was given a visitor cookie")
	}
	r = env.Proxy.Get(t, "GET", "/", "Cookie: mq_vid="+vid, "User-Agent: Mozilla/5.0 (X11; Linux x86_64) Chrome/120")
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
	rec := personalizetest.NewRecorder()
	env := personalizetest.Start(t, experimentProxyConfig, slotPage, personalize.Options{Recorder: rec})
	vid := string(env.Pers.Signer().AppendMint(nil))

	r := env.Proxy.Get(t, "GET", "/", "Cookie: mq_vid="+vid)
	body := string(r.Body())
	variant := "a"
	if strings.Contains(body, "VARIANT-B") {
		variant = "b"
	} else if !strings.Contains(body, "VARIANT-A") {
		t.Fatalf("no variant shown: %s", body)
	}
	if n := rec.Exposures()["exp/"+variant]; n != 1 {
		t.Errorf("exposures of exp/%s: %d, want 1 (%v)", variant, n, rec.Exposures())
	}
	other := map[string]string{"a": "b", "b": "a"}[variant]

	// A preview forces the other variant and is not counted.
	tok := env.Pers.Signer().SignPreview("exp", other, time.Now().Add(time.Hour))
	r = env.Proxy.Get(t, "GET", "/?"+personalize.PreviewParam+"="+tok, "Cookie: mq_vid="+vid)
	if !strings.Contains(string(r.Body()), "VARIANT-"+strings.ToUpper(other)) {
		t.Errorf("preview of variant %s not shown", other)
	}
	if rec.Exposures()["exp/"+other] != 0 || rec.Exposures()["exp/"+variant] != 1 {
		t.Errorf("a preview was counted: %v", rec.Exposures())
	}
	expired := env.Pers.Signer().SignPreview("exp", other, time.Now().Add(-time.Second))
	r = env.Proxy.Get(t, "GET", "/", "Cookie: mq_vid="+vid, personalize.PreviewHeader+": "+expired)
	if strings.Contains(string(r.Body()), "VARIANT-"+strings.ToUpper(other)) {
		t.Error("an expired preview token was honoured")
	}

	// Reaching the conversion page credits the variant seen, once.
	for range 2 {
		env.Proxy.Get(t, "GET", "/checkout/complete", "Cookie: mq_vid="+vid)
	}
	env.Pers.Wait([]byte(vid[:personalize.VisitorIDLen]))
	if n := rec.Conversions()["exp/"+variant]; n != 1 {
		t.Errorf("conversions of exp/%s: %d, want 1 (%v)", variant, n, rec.Conversions())
	}
}

func TestDecideEndpoint(t *testing.T) {
	env := startPersonalized(t, goldConfig, slotPage)
	vid := string(env.Pers.Signer().AppendMint(nil))
	env.Store.Update(vid[:personalize.VisitorIDLen], func(p *profile.Profile) error {
		p.Attrs = map[string]any{"tier": "gold", "name": "<i>Ada</i>"}
		return nil
	})
	r := env.Proxy.Get(t, "GET", "/_marquee/decide?slots=hero,recs", "Cookie: mq_vid="+vid)
	var out struct {
		Visitor string                               `json:"visitor"`
		Slots   map[string]*personalize.SlotDecision `json:"slots"`
	}
	if err := json.Unmarshal(r.Body(), &out); err != nil {
		t.Fatalf("%v: %s", err, r.Body())
	}
	if out.Visitor != vid[:personalize.VisitorIDLen] || out.Slots["hero"] == nil || out.Slots["hero"].Campaign != "gold-hero" ||
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
		if r := env.Proxy.Get(t, "GET", bad); r.StatusCode() < 400 || r.StatusCode() >= 500 {
			t.Errorf("%s: status %d", bad, r.StatusCode())
		}
	}
	// A slot named twice is decided once.
	r = env.Proxy.Get(t, "GET", "/_marquee/decide?slots=hero,hero,hero", "Cookie: mq_vid="+vid)
	if !strings.Contains(string(r.Body()), "gold-hero") || r.StatusCode() != 200 {
		t.Errorf("repeated slot: %d %s", r.StatusCode(), r.Body())
	}
	// A visitor who opted out with Global Privacy Control gets nothing.
	r = env.Proxy.Get(t, "GET", "/_marquee/decide?slots=hero", "Cookie: mq_vid="+vid, "Sec-GPC: 1")
	if strings.Contains(string(r.Body()), "gold-hero") {
		t.Errorf("Sec-GPC: 1 still personalised: %s", r.Body())
	}
	// A new visitor gets a cookie.
	if r := env.Proxy.Get(t, "GET", "/_marquee/decide?slots=hero"); len(r.Header.Peek("Set-Cookie")) == 0 {
		t.Error("no cookie minted for a new visitor")
	}
}

func TestConversionByEventCountsOnce(t *testing.T) {
	rec := personalizetest.NewRecorder()
	env := personalizetest.Start(t, "conversions: {events: [purchase], window: 1d}\ncampaigns:\n  - {id: promo, slot: hero, template: '<b>PROMO</b>'}\n", slotPage, personalize.Options{Recorder: rec})
	vid := string(env.Pers.Signer().AppendMint(nil))
	env.Proxy.Get(t, "GET", "/", "Cookie: mq_vid="+vid)
	id := vid[:personalize.VisitorIDLen]
	env.Pers.Wait([]byte(id))
	at := time.Now().Add(-time.Minute) // a backend clock a minute behind
	for range 3 {
		env.Pers.ConvertEvent(id, "purchase", at, 0)
		env.Pers.Wait([]byte(id))
	}
	env.Pers.ConvertEvent(id, "view", at, 0)
	if n := rec.Conversions()["promo/"+personalize.DefaultVariant]; n != 1 {
		t.Errorf("conversions: %v, want promo/default once", rec.Conversions())
	}
}

// TestFirstVerifyingVisitorCookie: with a junk visitor cookie before the
// real one, the real one identifies the visitor, on pages and on
// /_marquee/decide, and no new cookie is minted over it.
func TestFirstVerifyingVisitorCookie(t *testing.T) {
	env := startPersonalized(t, goldConfig, slotPage)
	vid := string(env.Pers.Signer().AppendMint(nil))
	env.Store.Update(vid[:personalize.VisitorIDLen], func(p *profile.Profile) error {
		p.Attrs = map[string]any{"tier": "gold", "name": "Ada"}
		return nil
	})
	other := string(env.Pers.Signer().AppendMint(nil))
	last := "A"
	if vid[len(vid)-1] == 'A' {
		last = "B"
	}
	forged := vid[:len(vid)-1] + last
	for _, cookie := range []string{
		"mq_vid=junk; mq_vid=" + vid,
		"mq_vid=" + forged + "; other=1; mq_vid=" + vid,
		"mq_vid=" + vid + "; mq_vid=" + other,
	} {
		r := env.Proxy.Get(t, "GET", "/", "Cookie: "+cookie)
		if !strings.Contains(string(r.Body()), "Hello Ada") {
			t.Errorf("%s: page not personalised for the valid cookie", cookie)
		}
		if sc := r.Header.Peek("Set-Cookie"); len(sc) != 0 {
			t.Errorf("%s: minted a new cookie: %s", cookie, sc)
		}
		r = env.Proxy.Get(t, "GET", "/_marquee/decide?slots=hero", "Cookie: "+cookie)
		var out struct {
			Visitor string `json:"visitor"`
		}
		if err := json.Unmarshal(r.Body(), &out); err != nil {
			t.Fatalf("%v: %s", err, r.Body())
		}
		if out.Visitor != vid[:personalize.VisitorIDLen] {
			t.Errorf("%s: decide answered for visitor %q, want %q", cookie, out.Visitor, vid[:personalize.VisitorIDLen])
		}
	}
}
