package main

import (
	"strings"
	"testing"

	"github.com/marquee-proxy/marquee/internal/demo"
)

// mobileOffer is the demo's phone-only campaign, as a page shows it.
const mobileOffer = "Phone exclusive: 20% off today"

// TestDemoMobileOffer runs the demo's configuration in front of the demo
// shop: the same new visitor sees the phone-only offer on a phone, the
// shop's own offer on a desktop, and the phone offer again on the phone.
func TestDemoMobileOffer(t *testing.T) {
	n := startTestNode(t, demo.NewShop(), string(demo.Config()))
	b := newBrowser(t)
	for i, tt := range []struct {
		device, ua string
		want       bool
	}{
		{"phone", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1", true},
		{"desktop", "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15", false},
		{"android phone", "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36", true},
		{"tablet", "Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1", false},
	} {
		b.header.Set("User-Agent", tt.ua)
		_, page := b.get(n.proxyURL() + "/")
		if got := strings.Contains(page, mobileOffer); got != tt.want {
			t.Errorf("request %d on a %s: phone offer shown %v, want %v", i, tt.device, got, tt.want)
		}
		if !tt.want && !strings.Contains(page, "10% off your first order") {
			t.Errorf("request %d on a %s: the shop's own offer is missing", i, tt.device)
		}
	}
}
