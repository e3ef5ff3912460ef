package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/marquee-proxy/marquee/personalize"
	"github.com/marquee-proxy/marquee/profile"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/marquee-proxy/marquee/config"
	"github.com/marquee-proxy/marquee/internal/demo"
)

// startTestNode runs a node on loopback in front of origin with the given
// config text appended.
func startTestNode(t *testing.T, origin http.Handler, extra string) *node {
	t.Helper()
	return startTestNodeWith(t, origin, extra, nodeOptions{})
}

// startTestNodeWith is startTestNode with options.
func startTestNodeWith(t *testing.T, origin http.Handler, extra string, opts nodeOptions) *node {
	t.Helper()
	text := fmt.Sprintf("listen: 127.0.0.1:0\norigin: %s\nadmin:\n  listen: 127.0.0.1:0\n%s", serveOrigin(t, nil, origin), extra)
	cfg, err := config.Parse("test.yaml", []byte(text))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	snap, err := personalize.Compile(cfg)
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	n, err := startNode(cfg, snap, slog.New(slog.DiscardHandler), opts)
	if err != nil {
		t.Fatalf("startNode: %v", err)
	}
	t.Cleanup(func() { n.close(context.Background()) })
	return n
}

// browser is a cookie-keeping client.
type browser struct {
	t       *testing.T
	c       *http.Client
	cookies map[string]string
	header  http.Header
}

func newBrowser(t *testing.T) *browser {
	return &browser{t: t, c: &http.Client{Timeout: 10 * time.Second}, cookies: map[string]string{}, header: http.Header{}}
}

func (b *browser) get(url string) (*http.Response, string) {
	b.t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	for k, v := range b.header {
		req.Header[k] = v
	}
	for k, v := range b.cookies {
		req.AddCookie(&http.Cookie{Name: k, Value: v})
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, c := range resp.Cookies() {
		b.cookies[c.Name] = c.Value
	}
	return resp, string(body)
}

const electronicsOffer = "15% off audio and wearables"

// Done item of the ingestion issue: three electronics product pages, and
// the fourth shows the electronics campaign with no API call.
func TestBrowsingBuildsSegment(t *testing.T) {
	n := startTestNode(t, demo.NewShop(), string(demo.Config()))
	b := newBrowser(t)
	for i, p := range []string{"aero-earbuds", "volt-powerbank", "lumen-lamp"} {
		resp, body := b.get(n.proxyURL() + "/p/" + p)
		if resp.StatusCode != 200 {
			t.Fatalf("page %d: status %d", i, resp.StatusCode)
		}
		if strings.Contains(body, electronicsOffer) {
			t.Fatalf("page %d already shows the electronics offer", i+1)
		}
		if resp.Header.Get("X-Marquee-Event") != "" {
			t.Error("event header leaked to the client")
		}
	}
	_, body := b.get(n.proxyURL() + "/p/pulse-watch")
	if !strings.Contains(body, electronicsOffer) {
		t.Fatalf("fourth electronics page does not show the electronics offer")
	}
	// The admin API shows the segment the visitor is in now.
	resp, err := http.Get(n.adminURL() + "/v1/profiles/" + b.cookies["mq_vid"][:personalize.VisitorIDLen])
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var prof struct{ Segments []string }
	if err := json.NewDecoder(resp.Body).Decode(&prof); err != nil || !slices.Contains(prof.Segments, "electronics_fan") {
		t.Errorf("GET profile segments: %v, %v", prof.Segments, err)
	}
}

// customerOrigin is a shop that says who is logged in with a response
// header, from a "login" cookie it trusts (its own session).
func customerOrigin() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, err := r.Cookie("login"); err == nil {
			w.Header().Set("X-Customer-Id", c.Value)
		}
		w.Header().Set("X-Demo-Category", "electronics")
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<html><body><div data-marquee-slot="offer">shop</div></body></html>`)
	})
}

const stitchConfig = `
identity:
  customer:
    header: X-Customer-Id
consent:
  opt_out_cookie: optout
segments:
  fan: 'views("electronics", "7d") >= 3'
campaigns:
  - id: fan-offer
    slot: offer
    when: fan
    template: 'FAN-OFFER'
tracking:
  pages:
    - path: /p/{product}
      category_header: X-Demo-Category
`

func TestStitchTwoDevicesAndLogout(t *testing.T) {
	n := startTestNode(t, customerOrigin(), stitchConfig)
	phone, laptop := newBrowser(t), newBrowser(t)
	// Two anonymous devices, two views each: neither is a fan alone.
	for _, b := range []*browser{phone, laptop} {
		for _, p := range []string{"a", "b"} {
			if _, body := b.get(n.proxyURL() + "/p/" + p); strings.Contains(body, "FAN-OFFER") {
				t.Fatal("anonymous device is a fan after two views")
			}
		}
	}
	// Logging in on both merges both into the customer: four views.
	phone.cookies["login"] = "cust-42"
	phone.get(n.proxyURL() + "/")
	laptop.cookies["login"] = "cust-42"
	resp, body := laptop.get(n.proxyURL() + "/")
	if !strings.Contains(body, "FAN-OFFER") {
		t.Fatalf("logged-in customer with four views across two devices is not a fan: %s", body)
	}
	if resp.Header.Get("X-Customer-Id") != "" {
		t.Error("customer id header leaked to the client")
	}
	p, _ := n.store.Get("cust-42")
	if p == nil || len(p.Links) != 2 {
		t.Fatalf("customer profile links: %+v", p)
	}
	// Logout on a shared laptop: the next person sees a fresh profile.
	delete(laptop.cookies, "login")
	if _, body := laptop.get(n.proxyURL() + "/"); strings.Contains(body, "FAN-OFFER") {
		t.Error("after logout the device still shows the customer's offers")
	}
	// Links survive in the store.
	if a, _ := n.store.AliasOf(phone.cookies["mq_vid"][:personalize.VisitorIDLen]); a != "cust-42" {
		t.Errorf("phone alias: got %q, want %q", a, "cust-42")
	}
}

func TestConsentStopsTracking(t *testing.T) {
	n := startTestNode(t, customerOrigin(), stitchConfig)
	tests := []struct {
		name  string
		setup func(b *browser)
	}{
		{"gpc", func(b *browser) { b.header.Set("Sec-GPC", "1") }},
		{"opt-out cookie", func(b *browser) { b.cookies["optout"] = "1" }},
		{"crawler", func(b *browser) { b.header.Set("User-Agent", "Googlebot/2.1") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBrowser(t)
			b.get(n.proxyURL() + "/p/first") // cookie minted, one view
			tt.setup(b)
			for range 4 {
				b.get(n.proxyURL() + "/p/x")
			}
			vid := b.cookies["mq_vid"]
			if vid == "" {
				if tt.name == "crawler" {
					return
				}
				t.Fatal("no visitor cookie")
			}
			n.ingest.tracker.Wait([]byte(vid[:personalize.VisitorIDLen]))
			p, _ := n.store.Get(vid[:personalize.VisitorIDLen])
			if p != nil && p.Views["electronics"] != nil && p.Views["electronics"][0].Count > 1 {
				t.Errorf("opted-out views were tracked: %v", p.Views)
			}
		})
	}
}

func TestStrictConsentMintsNoCookie(t *testing.T) {
	n2 := startTestNode(t, customerOrigin(), strings.Replace(stitchConfig, "  opt_out_cookie: optout", "  opt_out_cookie: optout\n  strict: true\n  consent_cookie: agreed", 1))
	b := newBrowser(t)
	b.get(n2.proxyURL() + "/p/a")
	if b.cookies["mq_vid"] != "" {
		t.Fatal("strict mode minted a visitor cookie without consent")
	}
	b.cookies["agreed"] = "yes"
	b.get(n2.proxyURL() + "/p/a")
	if b.cookies["mq_vid"] == "" {
		t.Fatal("strict mode minted no cookie after consent")
	}
}

func TestKafkaTopicFeedsStore(t *testing.T) {
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "events"))
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	n := startTestNode(t, customerOrigin(), fmt.Sprintf("kafka:\n  brokers: [%q]\n  topic: events\n", cluster.ListenAddrs()[0]))
	p, err := kgo.NewClient(kgo.SeedBrokers(cluster.ListenAddrs()...), kgo.DefaultProduceTopic("events"))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.ProduceSync(ctx, &kgo.Record{Value: []byte(`{"id":"k1","type":"purchase","customer":"c-1","value":250}`)}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if prof, _ := n.store.Get("c-1"); prof != nil && len(prof.Purchases) == 1 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("event from the topic never reached the store")
		}
	}
}

func TestEventHeaderFromOrigin(t *testing.T) {
	origin := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Marquee-Event", "add_to_cart; product="+strings.TrimPrefix(r.URL.Path, "/add/")+"; value=79")
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, `<div data-marquee-slot="offer">x</div>`)
	})
	n := startTestNode(t, origin, "")
	b := newBrowser(t)
	b.get(n.proxyURL() + "/add/earbuds")
	resp, _ := b.get(n.proxyURL() + "/add/earbuds")
	if resp.Header.Get("X-Marquee-Event") != "" {
		t.Error("event header reached the client")
	}
	vid := b.cookies["mq_vid"][:personalize.VisitorIDLen]
	n.ingest.tracker.Wait([]byte(vid))
	p, _ := n.store.Get(vid)
	if p == nil || p.Cart.Count() != 2 || p.Cart.Value() != 158 {
		t.Fatalf("cart after two annotated pages: %+v", p)
	}
}

func TestLoginCookieMustBeSigned(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	cfg := fmt.Sprintf(`
identity:
  customer:
    cookie: session
    keys: [%q]
segments:
  vip: 'attrs.tier == "vip"'
campaigns:
  - id: vip
    slot: offer
    when: vip
    template: 'VIP-OFFER'
`, base64.StdEncoding.EncodeToString(key))
	n := startTestNode(t, customerOrigin(), cfg)
	if _, err := n.store.Update("cust-1", func(p *profile.Profile) error { p.Attrs = map[string]any{"tier": "vip"}; return nil }); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, cookie string
		vip          bool
	}{
		{"signed", personalize.SignCustomerHMAC("cust-1", key), true},
		{"unsigned", "cust-1", false},
		{"signed by another key", personalize.SignCustomerHMAC("cust-1", []byte("another key, 16+ bytes")), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBrowser(t)
			b.cookies["session"] = tt.cookie
			_, body := b.get(n.proxyURL() + "/")
			if got := strings.Contains(body, "VIP-OFFER"); got != tt.vip {
				t.Errorf("customer's offer shown: got %v, want %v", got, tt.vip)
			}
		})
	}
}

// An add-to-cart form answered with a redirect carries its event in a
// header; the proxy records it and the client never sees the header.
func TestEventHeaderOnRedirect(t *testing.T) {
	origin := http.NewServeMux()
	origin.HandleFunc("POST /cart/add", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Marquee-Event", "add_to_cart; product=earbuds; value=79")
		http.Redirect(w, r, "/cart", http.StatusSeeOther)
	})
	origin.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, `<div data-marquee-slot="offer">x</div>`)
	})
	n := startTestNode(t, origin, "")
	b := newBrowser(t)
	b.get(n.proxyURL() + "/") // the visitor cookie
	b.c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	req, _ := http.NewRequest("POST", n.proxyURL()+"/cart/add", strings.NewReader("product=earbuds"))
	req.AddCookie(&http.Cookie{Name: "mq_vid", Value: b.cookies["mq_vid"]})
	resp, err := b.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("X-Marquee-Event") != "" {
		t.Fatalf("redirect: %d, event header %q", resp.StatusCode, resp.Header.Get("X-Marquee-Event"))
	}
	vid := b.cookies["mq_vid"][:personalize.VisitorIDLen]
	n.ingest.tracker.Wait([]byte(vid))
	if p, _ := n.store.Get(vid); p == nil || p.Cart.Count() != 1 {
		t.Fatalf("cart after the annotated redirect: %+v", p)
	}
}
