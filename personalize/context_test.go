package personalize_test

import (
	"context"
	"encoding/json"
	"net/netip"
	"strings"
	"testing"

	"github.com/marquee-proxy/marquee/internal/geo/geotest"
	"github.com/marquee-proxy/marquee/internal/personalizetest"
	"github.com/marquee-proxy/marquee/personalize"
	"github.com/marquee-proxy/marquee/proxy"
	msync "github.com/marquee-proxy/marquee/sync"
)

const (
	iPhoneUA  = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
	desktopUA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
)

// contextConfig fills the hero slot by device, and the offer slot by
// newsletter campaign, country and landing page.
const contextConfig = `segments:
  gold: 'attrs.tier == "gold"'
  phone: 'device.type == "mobile"'
campaigns:
  - {id: phone-hero, slot: hero, priority: 10, when: phone, template: '<b>PHONE</b>'}
  - {id: desk-hero, slot: hero, priority: 5, when: 'device.type == "desktop"', template: '<b>DESK {{.Profile.Attrs.tier}}</b>'}
  - {id: news, slot: offer, priority: 10, when: 'request.query("utm_source") == "newsletter"', template: '<b>NEWS</b>'}
  - {id: paris, slot: offer, priority: 8, when: 'geo.city == "Paris"', template: '<b>PARIS</b>'}
  - {id: fr, slot: offer, priority: 6, when: 'geo.country == "FR"', template: '<b>FR</b>'}
  - {id: sale, slot: offer, priority: 4, when: 'visit.landing startsWith "/sale"', template: '<b>SALE</b>'}
`

// TestDeviceThroughProxy: one visitor, one profile snapshot, on a phone
// and then on a desktop and back, gets each device's offer.
func TestDeviceThroughProxy(t *testing.T) {
	env := startPersonalized(t, contextConfig, slotPage)
	vid := string(env.Pers.Signer().AppendMint(nil))
	for i, tt := range []struct{ ua, want, not string }{
		{iPhoneUA, "PHONE", "DESK"},
		{desktopUA, "DESK", "PHONE"},
		{iPhoneUA, "PHONE", "DESK"},
		{desktopUA, "DESK", "PHONE"},
	} {
		body := string(env.Proxy.Get(t, "GET", "/", "Cookie: mq_vid="+vid, "User-Agent: "+tt.ua).Body())
		if !strings.Contains(body, tt.want) || strings.Contains(body, tt.not) {
			t.Errorf("request %d: got %q, want %s", i, hero(body), tt.want)
		}
	}
}

// TestRequestThroughProxy: the page's query and path reach expressions.
func TestRequestThroughProxy(t *testing.T) {
	env := startPersonalized(t, contextConfig, slotPage)
	tests := []struct{ path, want string }{
		{"/?utm_source=newsletter", "NEWS"},
		{"/sale/shoes", "SALE"}, // a new visitor lands here
		{"/?utm_source=other", "No offer"},
	}
	for _, tt := range tests {
		body := string(env.Proxy.Get(t, "GET", tt.path, "User-Agent: "+desktopUA).Body())
		if !strings.Contains(body, `<div data-marquee-slot="offer">`+wrapOffer(tt.want)) {
			t.Errorf("%s: got %s, want %s", tt.path, body, tt.want)
		}
	}
}

func wrapOffer(s string) string {
	if s == "No offer" {
		return s
	}
	return "<b>" + s + "</b>"
}

// TestGeoThroughProxy: the country header is believed only from a trusted
// proxy, and the database answers for the client's address, the
// X-Forwarded-For entry of a trusted proxy.
func TestGeoThroughProxy(t *testing.T) {
	db := geotest.Write(t,
		geotest.Place{Network: "2.3.0.0/16", Country: "FR", Region: "IDF", City: "Paris"},
		geotest.Place{Network: "5.6.0.0/16", Country: "FR", Region: "ARA", City: "Lyon"},
		geotest.Place{Network: "81.2.69.0/24", Country: "GB", Region: "ENG", City: "London"},
	)
	// As serve wires it, the proxy and the personaliser trust the same
	// addresses: loopback in one pair, nobody in the other.
	geoConfig := "geo: {header: CF-IPCountry, database: '" + db + "'}\n"
	env := startPersonalized(t, "trusted_proxies: [127.0.0.1]\n"+geoConfig+contextConfig, slotPage)
	_, trusted := env.StartProxy(t, proxy.Options{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}})
	untrusted := startPersonalized(t, geoConfig+contextConfig, slotPage).Proxy
	tests := []struct {
		name    string
		trusted bool
		headers []string
		want    string
	}{
		{"header from a trusted proxy", true, []string{"CF-IPCountry: fr"}, "FR"},
		{"header from anyone else", false, []string{"CF-IPCountry: FR"}, "No offer"},
		{"database by forwarded address", true, []string{"X-Forwarded-For: 2.3.4.5"}, "PARIS"},
		{"database with the header agreeing", true, []string{"X-Forwarded-For: 2.3.4.5", "CF-IPCountry: FR"}, "PARIS"},
		{"header wins over the database", true, []string{"X-Forwarded-For: 81.2.69.1", "CF-IPCountry: FR"}, "FR"},
		{"forwarded address from anyone else", false, []string{"X-Forwarded-For: 2.3.4.5"}, "No offer"},
		{"another city", true, []string{"X-Forwarded-For: 5.6.7.8"}, "FR"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := untrusted
			if tt.trusted {
				c = trusted
			}
			body := string(c.Get(t, "GET", "/", append([]string{"User-Agent: " + desktopUA}, tt.headers...)...).Body())
			if !strings.Contains(body, `<div data-marquee-slot="offer">`+wrapOffer(tt.want)) {
				t.Errorf("got %s, want %s", body, tt.want)
			}
			// /_marquee/decide sees the same context.
			r := c.Get(t, "GET", "/_marquee/decide?slots=offer", append([]string{"User-Agent: " + desktopUA}, tt.headers...)...)
			if got := decided(t, r.Body(), "offer"); got != strings.ToLower(tt.want) && (tt.want != "No offer" || got != "") {
				t.Errorf("decide: got %q, want %s", got, tt.want)
			}
		})
	}
}

// TestDecideEndpointContext: /_marquee/decide reads the device from its
// own User-Agent and the page from its url parameter or Referer.
func TestDecideEndpointContext(t *testing.T) {
	env := startPersonalized(t, contextConfig, slotPage)
	vid := string(env.Pers.Signer().AppendMint(nil))
	tests := []struct {
		name    string
		query   string
		headers []string
		slot    string
		want    string
	}{
		{"phone", "", []string{"User-Agent: " + iPhoneUA}, "hero", "phone-hero"},
		{"desktop", "", []string{"User-Agent: " + desktopUA}, "hero", "desk-hero"},
		{"url parameter", "&url=" + "%2F%3Futm_source%3Dnewsletter", nil, "offer", "news"},
		{"referer", "", []string{"Referer: http://shop.example/?utm_source=newsletter"}, "offer", "news"},
		{"no page", "", nil, "offer", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := env.Proxy.Get(t, "GET", "/_marquee/decide?slots="+tt.slot+tt.query, append([]string{"Cookie: mq_vid=" + vid}, tt.headers...)...)
			if got := decided(t, r.Body(), tt.slot); got != tt.want {
				t.Errorf("got %q, want %q: %s", got, tt.want, r.Body())
			}
		})
	}
}

// decided returns the campaign /_marquee/decide chose for slot, "" for
// none.
func decided(t *testing.T, body []byte, slot string) string {
	t.Helper()
	var out struct {
		Slots map[string]*personalize.SlotDecision `json:"slots"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	if out.Slots[slot] == nil {
		return ""
	}
	return out.Slots[slot].Campaign
}

// hero returns the hero slot's content of a page.
func hero(body string) string {
	_, after, _ := strings.Cut(body, `data-marquee-slot="hero">`)
	content, _, _ := strings.Cut(after, "</div>")
	return content
}

// TestVisitThroughProxy: a session's landing page is recorded and read
// back on its later pages; tracked views carry their path too.
func TestVisitThroughProxy(t *testing.T) {
	st, err := msync.Open(msync.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	tr, err := personalize.NewTracker(personalize.TrackerOptions{
		Store: st,
		Pages: []personalize.TrackPage{{Path: "/p/{product}", Event: msync.EventView}},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tr.Close(context.Background()) })
	env := personalizetest.Start(t, `campaigns:
  - {id: sale, slot: offer, priority: 9, when: 'visit.landing startsWith "/sale"', template: '<b>SALE</b>'}
  - {id: back, slot: offer, priority: 5, when: 'visit.count >= 2 or not visit.new', template: '<b>{{.Profile.Sessions}}</b>'}
`, slotPage, personalize.Options{Store: st, Tracker: tr})
	tests := []struct {
		name, vid, path, want string
	}{
		{"lands on a sale page", "AAAAAAAAAAAAAAAAAAAAAA", "/sale/shoes", "SALE"},
		{"goes on browsing", "AAAAAAAAAAAAAAAAAAAAAA", "/c/boots", "SALE"},
		{"lands on a product page", "BBBBBBBBBBBBBBBBBBBBBB", "/p/boots", "No offer"},
		{"goes on to a sale page", "BBBBBBBBBBBBBBBBBBBBBB", "/sale/boots", "1"},
	}
	cookies := map[string]string{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var headers []string
			if c := cookies[tt.vid]; c != "" {
				headers = append(headers, "Cookie: mq_vid="+c)
			}
			r := env.Proxy.Get(t, "GET", tt.path, headers...)
			if c := personalizetest.CookieValue(t, r, "mq_vid"); c != "" {
				cookies[tt.vid] = c
			}
			if body := string(r.Body()); !strings.Contains(body, `<div data-marquee-slot="offer">`+wrapOffer(tt.want)) {
				t.Errorf("got %s, want %s", body, tt.want)
			}
		})
	}
	for vid, want := range map[string]string{"AAAAAAAAAAAAAAAAAAAAAA": "/sale/shoes", "BBBBBBBBBBBBBBBBBBBBBB": "/p/boots"} {
		c := cookies[vid]
		env.Pers.Wait([]byte(c[:personalize.VisitorIDLen]))
		p, _ := st.Get(c[:personalize.VisitorIDLen])
		if p == nil || p.Landing != want || p.Sessions != 1 {
			t.Errorf("visitor %s: profile %+v, want landing %s in 1 session", vid, p, want)
		}
	}
}

// TestVisitUnslotted: a known visitor's view of a page without slots also
// starts a session, when an expression reads visit.*.
func TestVisitUnslotted(t *testing.T) {
	st, err := msync.Open(msync.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	tr, err := personalize.NewTracker(personalize.TrackerOptions{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tr.Close(context.Background()) })
	env := personalizetest.Start(t, "segments:\n  back: 'visit.count > 1'\n", "<!doctype html><p>A blog post</p>", personalize.Options{Store: st, Tracker: tr})
	cookie := string(env.Pers.Signer().AppendMint(nil))
	vid := cookie[:personalize.VisitorIDLen]
	env.Proxy.Get(t, "GET", "/blog/winter", "Cookie: mq_vid="+cookie)
	env.Proxy.Get(t, "GET", "/blog/summer", "Cookie: mq_vid="+cookie)
	env.Pers.Wait([]byte(vid))
	p, _ := st.Get(vid)
	if p == nil || p.Landing != "/blog/winter" || p.Sessions != 1 {
		t.Errorf("profile %+v, want landing /blog/winter in 1 session", p)
	}
}
