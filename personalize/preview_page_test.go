package personalize_test

import (
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/marquee-proxy/marquee/internal/personalizetest"
	"github.com/marquee-proxy/marquee/internal/proxytest"
	"github.com/marquee-proxy/marquee/personalize"
	"github.com/marquee-proxy/marquee/profile"
	"github.com/marquee-proxy/marquee/proxy"
)

// draftConfig keeps the gold hero and adds an offer campaign the running
// configuration does not have.
const draftConfig = `segments:
  gold: 'attrs.tier == "gold"'
campaigns:
  - id: gold-hero
    slot: hero
    when: gold
    priority: 10
    template: '<b>DRAFT hello {{.Profile.Attrs.name}}</b>'
  - id: draft-offer
    slot: offer
    when: 'false'
    template: '<i>DRAFT offer for {{.Profile.Attrs.name}}</i>'
`

const consoleOrigin = "http://127.0.0.1:9000 http://localhost:9000"

// testClock is a clock a test moves by hand.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// TestPagePreview opens the slotted page through the real proxy with the
// campaign editor's tokens: the held draft's campaign shows, decided for
// the held visitor rather than the browser's, unless that visitor has
// since opted out; nothing is counted, and the console may frame the page;
// an ordinary request, or one with a forged token, gets neither.
func TestPagePreview(t *testing.T) {
	rec := personalizetest.NewRecorder()
	start := time.Now()
	clock := &testClock{t: start}
	env := personalizetest.Start(t, goldConfig, slotPage, personalize.Options{Recorder: rec, Now: clock.now, PreviewFrameAncestors: consoleOrigin})
	origin := proxytest.StartOrigin(t, func(ctx *fasthttp.RequestCtx) {
		ctx.SetContentType("text/html; charset=utf-8")
		ctx.Response.Header.Set("X-Frame-Options", "DENY")
		ctx.Response.Header.Set("Referrer-Policy", "origin")
		ctx.Response.Header.Set("Content-Security-Policy", "frame-ancestors 'none'; script-src 'self'")
		ctx.SetBodyString(slotPage)
	})
	srv, err := proxy.New(proxy.Options{Origins: []string{origin}, Rewriter: env.Pers, Local: env.Pers})
	if err != nil {
		t.Fatal(err)
	}
	client := proxytest.Serve(t, srv, proxy.ErrServerClosed)

	// The browser is Bob, gold; a held preview may show the page as Ada or
	// as Cara, who opts out once her link is minted.
	cookie := string(env.Pers.Signer().AppendMint(nil))
	bob := cookie[:personalize.VisitorIDLen]
	setProfile := func(id string, f func(p *profile.Profile)) {
		t.Helper()
		if _, err := env.Store.Update(id, func(p *profile.Profile) error { f(p); return nil }); err != nil {
			t.Fatal(err)
		}
	}
	for id, name := range map[string]string{bob: "Bob", "ada": "Ada", "cara": "Cara"} {
		setProfile(id, func(p *profile.Profile) { p.Attrs = map[string]any{"tier": "gold", "name": name} })
	}
	draft, err := env.Pers.Snapshot().WithDecisions("draft", []byte(draftConfig))
	if err != nil {
		t.Fatal(err)
	}
	// The tokens outlive what they name, so that the held previews' own
	// lifetimes show below.
	expires := clock.now().Add(2 * time.Hour)
	signer := env.Pers.Signer()
	token := func(campaign, held string) string {
		return signer.SignPreviewToken(personalize.Preview{Campaign: campaign, Expires: expires, Held: held})
	}
	asAda := token("draft-offer", env.Pers.HoldPreview(draft, "ada", expires))
	asBob := token("draft-offer", env.Pers.HoldPreview(draft, "", expires))
	runningAsAda := token("gold-hero", env.Pers.HoldPreview(nil, "ada", expires))
	asCara := token("draft-offer", env.Pers.HoldPreview(draft, "cara", expires))
	no := false
	setProfile("cara", func(p *profile.Profile) { p.Consent.Personalization = &no })
	// forged names another held id under Ada's token's signature.
	forged := func() string {
		b := []byte(asAda)
		b[strings.LastIndexByte(asAda, '.')-1] ^= 'A' ^ 'B'
		return string(b)
	}()

	const gold, draftHero = "<b>Hello Bob, gold offer</b>", "<b>DRAFT hello Ada</b>"
	tests := []struct {
		name     string
		query    string
		show     []string // in the page
		hide     []string // not in the page
		counted  bool
		framable bool
	}{
		{"ordinary request", "", []string{gold}, []string{"DRAFT"}, true, false},
		{"draft as Ada", asAda, []string{draftHero, "<i>DRAFT offer for Ada</i>"}, []string{"Bob"}, false, true},
		{"draft as the browser", asBob, []string{"<b>DRAFT hello Bob</b>", "<i>DRAFT offer for Bob</i>"}, []string{"Ada"}, false, true},
		{"running campaign as Ada", runningAsAda, []string{"<b>Hello Ada, gold offer</b>"}, []string{"DRAFT", "Bob"}, false, true},
		{"Cara opted out after minting", asCara, []string{"<b>DRAFT hello Bob</b>"}, []string{"Cara"}, false, true},
		{"forged held id", forged, []string{gold}, []string{"DRAFT", "Ada"}, true, false},
		{"old-format token", signer.SignPreview("gold-hero", "", expires), []string{gold}, []string{"DRAFT"}, false, true},
		{"not held, campaign running", token("gold-hero", "AAAAAAAAAAAAAAAAAAAAAA"), []string{gold}, []string{"DRAFT", "Ada"}, false, true},
		{"not held, campaign only in the draft", token("draft-offer", "AAAAAAAAAAAAAAAAAAAAAA"), []string{gold, "No offer"}, []string{"DRAFT"}, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := rec.Exposures()["gold-hero/"+personalize.DefaultVariant]
			path := "/"
			if tt.query != "" {
				path += "?" + personalize.PreviewParam + "=" + tt.query
			}
			r := client.Get(t, "GET", path, "Cookie: mq_vid="+cookie)
			body := string(r.Body())
			for _, s := range tt.show {
				if !strings.Contains(body, s) {
					t.Errorf("page lacks %q:\n%s", s, body)
				}
			}
			for _, s := range tt.hide {
				if strings.Contains(body, s) {
					t.Errorf("page shows %q:\n%s", s, body)
				}
			}
			if counted := rec.Exposures()["gold-hero/"+personalize.DefaultVariant] > before; counted != tt.counted {
				t.Errorf("counted: %v, want %v", counted, tt.counted)
			}
			xfo, csp := r.Header.Peek("X-Frame-Options"), toStrings(r.Header.PeekAll("Content-Security-Policy"))
			wantCSP := []string{"frame-ancestors 'none'; script-src 'self'"}
			if tt.framable {
				wantCSP = []string{"script-src 'self'", "frame-ancestors " + consoleOrigin}
			}
			if rp, want := string(r.Header.Peek("Referrer-Policy")), map[bool]string{true: "no-referrer", false: "origin"}[tt.framable]; rp != want {
				t.Errorf("got Referrer-Policy %q, want %q", rp, want)
			}
			if (len(xfo) == 0) != tt.framable || !slices.Equal(csp, wantCSP) {
				t.Errorf("got X-Frame-Options %q, Content-Security-Policy %q; want framable %v, %q", xfo, csp, tt.framable, wantCSP)
			}
		})
	}
	for _, id := range []string{"ada", "cara"} {
		env.Pers.Wait([]byte(id))
		if p, _ := env.Store.Get(id); p == nil || len(p.Caps) > 0 || len(p.Variants) > 0 || len(p.Exposures) > 0 {
			t.Errorf("previews as %s wrote to the profile: %+v", id, p)
		}
	}

	// A held preview outlives neither its token nor its own limit:
	// MaxVisitorPreviewAge for one naming a visitor, MaxDraftAge for a
	// draft alone. Past it, the token shows the running campaign of its
	// id, here none, for the browser's visitor.
	for _, tt := range []struct {
		name      string
		after     time.Duration // since the previews were held
		token     string
		show      string
		hideDraft bool
	}{
		{"visitor preview, just before its end", personalize.MaxVisitorPreviewAge - time.Second, asAda, draftHero, false},
		{"visitor preview, past its end", personalize.MaxVisitorPreviewAge, asAda, gold, true},
		{"draft preview, past a visitor preview's end", personalize.MaxVisitorPreviewAge, asBob, "<b>DRAFT hello Bob</b>", false},
		{"draft preview, past its end", personalize.MaxDraftAge, asBob, gold, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			clock.advance(start.Add(tt.after).Sub(clock.now()))
			r := client.Get(t, "GET", "/?"+personalize.PreviewParam+"="+tt.token, "Cookie: mq_vid="+cookie)
			body := string(r.Body())
			if !strings.Contains(body, tt.show) || strings.Contains(body, "Ada") != (tt.show == draftHero) || (tt.hideDraft && strings.Contains(body, "DRAFT")) {
				t.Errorf("got page:\n%s\nwant %q", body, tt.show)
			}
		})
	}
}

func toStrings(bs [][]byte) []string {
	out := make([]string, len(bs))
	for i, b := range bs {
		out[i] = string(b)
	}
	return out
}
