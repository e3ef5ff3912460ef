//go:build unix

package main

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/marquee-proxy/marquee/internal/browsertest"
	"github.com/marquee-proxy/marquee/internal/demo"
	"github.com/marquee-proxy/marquee/personalize"
)

// consoleConfig is the walk's node: the demo shop's slots, a campaign
// nobody qualifies for yet (the walk's visitor is gold, not platinum), an
// experiment and the edge cache, for the charts.
const consoleConfig = `  token: s3cret
cache: {max_size: 16MiB}
conversions: {paths: ["/checkout/complete"], window: 1d}
segments:
  gold: 'attrs.tier == "gold"'
campaigns:
  - id: welcome-back
    slot: hero
    priority: 10
    when: 'attrs.tier == "platinum"'
    template: '<div class="banner"><h2>Welcome back, gold member</h2></div>'
  - id: spring-sale
    slot: offer
    priority: 5
    template: '<div class="offer"><strong>Spring sale: 20% off</strong></div>'
    experiment:
      holdout: 0.1
      variants:
        - {name: banner-a, control: true}
        - {name: banner-b, template: '<div class="offer"><strong>Spring sale, banner B</strong></div>'}
`

// welcomeOffer is the text welcome-back puts on the page.
const welcomeOffer = "Welcome back, gold member"

// TestConsoleEditorWalk drives the operator console in a headless
// Chromium through the DevTools protocol against a real node: a bad
// condition shows its error at its field, the fix validates, the preview
// shows the offer alone and on the page, publishing puts it on the live
// page, a second version differs from it by the one line changed, and
// rolling back takes the campaign off; a variant's problem shows in its
// row, the profile card and the audit log show what happened. With MARQUEE_SCREENSHOTS=DIR it
// writes screenshots of each screen there (docs/console/ holds the
// current ones).
func TestConsoleEditorWalk(t *testing.T) {
	browser := browsertest.Find(t)
	shots := os.Getenv("MARQUEE_SCREENSHOTS")
	n := startTestNode(t, demo.NewShop(), consoleConfig)
	visitor := newBrowser(t)
	if _, body := visitor.get(n.proxyURL() + "/"); strings.Contains(body, welcomeOffer) {
		t.Fatal("the live page shows the campaign before it is published")
	}
	vid := visitorID(t, visitor)
	seedVisitor(t, n, vid)
	if shots != "" {
		// Traffic for two samples of the metrics history, so the charts
		// have a line.
		for range 3 {
			for i := range 20 {
				newBrowser(t).get(n.proxyURL() + []string{"/", "/c/audio", "/p/aero-earbuds", "/cart"}[i%4])
			}
			time.Sleep(11 * time.Second)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dir := t.TempDir()
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(browser), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.Flag("disable-breakpad", true),
		// Preview frames are sandboxed, so of an opaque origin: kept in the
		// page's process, where the walk can read their DOM.
		chromedp.Flag("disable-site-isolation-trials", true), chromedp.Flag("disable-features", "IsolateSandboxedIframes,site-per-process"),
		chromedp.UserDataDir(dir), chromedp.Env("HOME="+dir), chromedp.WindowSize(1280, 900))
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(actx)
	defer cancelBrowser()
	// The browser starts with the first action: under bctx, so that it
	// outlives each step's deadline.
	if err := chromedp.Do(bctx, chromedp.EmulateViewport(1280, 900)); err != nil {
		t.Fatalf("starting %s: %v", browser, err)
	}

	// step runs one step of the walk under its own deadline.
	step := func(name string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, cancel := context.WithTimeout(bctx, 30*time.Second)
		defer cancel()
		if err := chromedp.Do(sctx, actions...); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	text := func(name, js string) string {
		t.Helper()
		sctx, cancel := context.WithTimeout(bctx, 30*time.Second)
		defer cancel()
		s, err := chromedp.Run(sctx, chromedp.Evaluate[string](js))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return s
	}
	shoot := func(name, scrollTo string) {
		t.Helper()
		if shots == "" {
			return
		}
		sctx, cancel := context.WithTimeout(bctx, 30*time.Second)
		defer cancel()
		if scrollTo != "" {
			if err := chromedp.Do(sctx, chromedp.ScrollIntoView(chromedp.CSS(scrollTo)), chromedp.Sleep(300*time.Millisecond)); err != nil {
				t.Fatalf("screenshot %s: %v", name, err)
			}
		}
		png, err := chromedp.Run(sctx, chromedp.CaptureScreenshot())
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(shots, name+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	poll := func(js string) chromedp.Action[chromedp.Void] {
		return chromedp.Poll[chromedp.Void](js, chromedp.WithPollingTimeout(25*time.Second))
	}

	step("open the console with the token",
		chromedp.Navigate(n.adminURL()+"/#token=s3cret&profile="+vid),
		chromedp.WaitVisible(chromedp.CSS(`button[data-id="edit-welcome-back"]`)),
		poll(`document.querySelectorAll('#charts .chart').length === 3`))
	shoot("overview", "")

	step("open the editor on welcome-back",
		chromedp.Click(chromedp.CSS(`button[data-id="edit-welcome-back"]`)),
		chromedp.WaitVisible(chromedp.ID("ed-when")),
		poll(`document.getElementById('ed-state').textContent === 'valid'`))
	if got := text("condition", `document.getElementById('ed-when').value`); got != `attrs.tier == "platinum"` {
		t.Fatalf("the editor shows condition %q, want the campaign's", got)
	}

	step("type a bad condition",
		clearField("ed-when"),
		chromedp.SendKeys(chromedp.ID("ed-when"), `attrs.tier ==`),
		poll(`document.querySelector('[data-problems="when"] .problem') !== null`))
	msg := text("problem", `document.querySelector('[data-problems="when"] .problem').textContent`)
	if !strings.Contains(msg, "campaigns[0].when") || !strings.Contains(msg, "line ") {
		t.Errorf("the problem at the condition says %q, want its field and line", msg)
	}
	if state := text("state", `document.getElementById('ed-state').textContent + ' ' + document.getElementById('ed-publish').disabled`); state != "1 problem true" {
		t.Errorf("editor state %q, want one problem and publishing off", state)
	}
	if !strings.Contains(text("field", `document.getElementById('ed-when').className`), "invalid") {
		t.Error("the condition field is not marked invalid")
	}
	shoot("editor-error", "#editor")

	step("fix the condition",
		clearField("ed-when"),
		chromedp.SendKeys(chromedp.ID("ed-when"), `true`),
		poll(`document.getElementById('ed-state').textContent === 'valid' && !document.getElementById('ed-publish').disabled`))
	if got := text("problems", `String(document.querySelectorAll('#ed-form .problem').length)`); got != "0" {
		t.Errorf("%s problems still shown after the fix", got)
	}

	step("preview for the visitor",
		chromedp.SendKeys(chromedp.ID("ed-pv-visitor"), vid),
		chromedp.Click(chromedp.ID("ed-preview")),
		chromedp.WaitVisible(chromedp.ID("ed-offer-frame")),
		chromedp.WaitVisible(chromedp.ID("ed-page-frame")))
	offer := frameText(t, bctx, "#ed-offer-frame", "body")
	if !strings.Contains(offer, welcomeOffer) {
		t.Errorf("the offer frame shows %q, want the offer", offer)
	}
	slot := frameText(t, bctx, "#ed-page-frame", `[data-marquee-slot="hero"]`)
	if !strings.Contains(slot, welcomeOffer) {
		t.Errorf("the page frame's hero slot holds %q, want the offer", slot)
	}
	shoot("preview", "#ed-preview-body")
	if _, body := visitor.get(n.proxyURL() + "/"); strings.Contains(body, welcomeOffer) {
		t.Error("previewing put the draft on the live page")
	}

	step("publish",
		chromedp.Click(chromedp.ID("ed-publish")),
		poll(`/^Published as version \d+\.$/.test(document.getElementById('ed-publish-msg').textContent)`))
	if _, body := visitor.get(n.proxyURL() + "/"); !strings.Contains(body, welcomeOffer) {
		t.Fatal("the published campaign is not on the live page")
	}

	first := text("published", `document.getElementById('ed-publish-msg').textContent`)

	// A second version, from the editor still open on the campaign: its
	// diff with the first is the one changed line.
	step("change the template and publish again",
		clearField("ed-template"),
		chromedp.SendKeys(chromedp.ID("ed-template"), `<div class="banner"><h2>`+welcomeOffer+`</h2><p>A gift inside</p></div>`),
		poll(`document.getElementById('ed-state').textContent === 'valid' && !document.getElementById('ed-publish').disabled`),
		chromedp.Click(chromedp.ID("ed-publish")),
		poll(`/^Published as version \d+\.$/.test(document.getElementById('ed-publish-msg').textContent) && document.getElementById('ed-publish-msg').textContent !== `+strconv.Quote(first)))
	if _, body := visitor.get(n.proxyURL() + "/"); !strings.Contains(body, "A gift inside") {
		t.Fatal("the second version is not on the live page")
	}

	step("diff with the previous version",
		poll(`document.querySelectorAll('#history-body tbody tr').length === 3`),
		chromedp.Click(chromedp.CSS(`#history-body tbody tr:first-child button[data-id^="diff-"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#diff-body pre.diff`)))
	changed := text("diff", `[...document.querySelectorAll('#diff-body pre.diff span.add, #diff-body pre.diff span.del')].map(s => s.textContent).join('\n')`)
	if lines := strings.Split(changed, "\n"); len(lines) != 2 || !strings.HasPrefix(lines[0], "-") || !strings.HasPrefix(lines[1], "+") || !strings.Contains(lines[1], "A gift inside") {
		t.Errorf("the diff of the two versions changes more or less than the template's line:\n%s", changed)
	}
	shoot("history-diff", "#history")

	step("roll back to the version before both",
		chromedp.Click(chromedp.CSS(`#history-body tbody tr:nth-child(3) button.rollback`)),
		chromedp.Click(chromedp.CSS(`#history-body button[data-id="confirm-rollback"]`)),
		poll(`document.querySelector('#history-body tbody tr:first-child td:nth-child(3)').textContent === 'rollback'`))
	if _, body := visitor.get(n.proxyURL() + "/"); strings.Contains(body, welcomeOffer) {
		t.Fatal("the rolled-back campaign is still on the live page")
	}

	// A problem inside an experiment shows at its variant's row: typing
	// after the weight of 1 makes it "1-3", not a number.
	step("a bad variant weight",
		chromedp.Click(chromedp.CSS(`button[data-id="edit-spring-sale"]`)),
		poll(`document.getElementById('ed-state').textContent === 'valid' && document.getElementById('ed-id').value === 'spring-sale'`),
		chromedp.SendKeys(chromedp.CSS(`#ed-variants .variant:nth-child(2) .v-weight`), `-3`),
		poll(`document.querySelector('#ed-variants .variant:nth-child(2) [data-variant-problems] .problem') !== null`))
	if msg := text("variant problem", `document.querySelector('#ed-variants .variant:nth-child(2) [data-variant-problems] .problem').textContent`); !strings.Contains(msg, "campaigns[1].experiment.variants[1].weight") {
		t.Errorf("the second variant's row says %q, want its weight's problem", msg)
	}
	if !strings.Contains(text("weight field", `document.querySelector('#ed-variants .variant:nth-child(2) .v-weight').className`), "invalid") {
		t.Error("the weight field is not marked invalid")
	}
	step("close the editor", chromedp.Click(chromedp.ID("ed-close")))

	step("profile card",
		chromedp.ScrollIntoView(chromedp.ID("profile")),
		chromedp.WaitVisible(chromedp.CSS(`#profile-body .profile-card`)))
	card := text("card", `document.querySelector('#profile-body .profile-card').innerText`)
	for _, want := range []string{vid, "gold", "aero-earbuds", "Purchases", "spring-sale"} {
		if !strings.Contains(card, want) {
			t.Errorf("profile card lacks %q:\n%s", want, card)
		}
	}
	shoot("profile", "#profile")
	// The audit log lists the publish and the rollback.
	step("audit log", poll(`document.querySelectorAll('#audit-body tbody tr').length >= 2`))
	audit := text("audit", `document.getElementById('audit-body').innerText`)
	for _, want := range []string{"PUT /v1/campaigns", "POST /v1/campaigns/rollback"} {
		if !strings.Contains(audit, want) {
			t.Errorf("the audit log lacks %q:\n%s", want, audit)
		}
	}
}

// clearField empties the form field with id, as selecting its text and
// deleting it would; the typing that follows raises the input events.
func clearField(id string) chromedp.Action[chromedp.Void] {
	return chromedp.Evaluate[chromedp.Void](`document.getElementById(` + strconv.Quote(id) + `).value = ''`)
}

// frameText returns the text of the first element matching sel inside the
// iframe matching frame, waiting for it.
func frameText(t *testing.T, bctx context.Context, frame, sel string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(bctx, 30*time.Second)
	defer cancel()
	nodes, err := chromedp.Run(ctx, chromedp.Nodes(chromedp.CSS(frame)))
	if err != nil || len(nodes) == 0 {
		t.Fatalf("frame %s: %v", frame, err)
	}
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel), chromedp.FromNode(nodes[0])))
	if err != nil {
		t.Fatalf("%s in frame %s: %v", sel, frame, err)
	}
	return s
}

// visitorID returns the visitor id the proxy gave b.
func visitorID(t *testing.T, b *browser) string {
	t.Helper()
	c := b.cookies["mq_vid"]
	if c == "" {
		t.Fatal("the proxy set no visitor cookie")
	}
	if len(c) < personalize.VisitorIDLen {
		t.Fatalf("visitor cookie %q too short", c)
	}
	return c[:personalize.VisitorIDLen]
}

// seedVisitor makes vid a gold member with views, a cart and a purchase,
// so the profile card has something in every part.
func seedVisitor(t *testing.T, n *node, vid string) {
	t.Helper()
	if code, body := adminDo(t, "PATCH", n.adminURL()+"/v1/profiles/"+vid, `{"attrs": {"tier": "gold", "name": "Ada"}}`); code != http.StatusOK {
		t.Fatalf("PATCH profile: %d %s", code, body)
	}
	now := time.Now().UTC()
	events := []map[string]any{
		{"id": "e1", "type": "view", "visitor": vid, "category": "audio", "product": "aero-earbuds", "ts": now.Add(-time.Hour)},
		{"id": "e2", "type": "add_to_cart", "visitor": vid, "product": "aero-earbuds", "value": 59.0},
		{"id": "e3", "type": "purchase", "visitor": vid, "product": "volt-powerbank", "value": 34.5, "ts": now.Add(-30 * time.Minute)},
	}
	b, _ := json.Marshal(events)
	if code, body := adminDo(t, "POST", n.adminURL()+"/v1/events", string(b)); code != http.StatusOK {
		t.Fatalf("POST events: %d %s", code, body)
	}
}
