package config

import (
	"strings"
	"testing"
)

func TestIngestDefaults(t *testing.T) {
	c, err := Parse("t.yaml", []byte("origin: http://o:1\ntracking:\n  pages:\n    - path: /c/{category}\nidentity:\n  customer:\n    header: X-Customer\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Tracking.Pages[0].Event != "view" || c.Tracking.EventHeader != "X-Marquee-Event" || c.Tracking.Workers != 4 {
		t.Errorf("tracking defaults: %+v", c.Tracking)
	}
	// Left to sync.DefaultOptions.
	if c.Events.DedupWindow != 0 || c.Events.MaxPast != 0 || c.Store.Sync != "" || c.Store.ShrinkRatio != 0 {
		t.Errorf("events/store defaults: %+v %+v", c.Events, c.Store)
	}
	if c.Identity.Customer.CookieFormat != "hmac" || c.Kafka.Group != "marquee" {
		t.Errorf("customer/kafka defaults: %+v %+v", c.Identity.Customer, c.Kafka)
	}
}

func TestIngestErrors(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		{"pattern placeholder", "tracking:\n  pages:\n    - path: /c/{cat}\n", `tracking.pages[0].path: "/c/{cat}": placeholders are whole segments`},
		{"pattern relative", "tracking:\n  pages:\n    - path: c/{category}\n", `tracking.pages[0].path: "c/{category}": want a path starting with /`},
		{"pattern twice", "tracking:\n  pages:\n    - path: /{product}/{product}\n", `{product} used twice`},
		{"event", "tracking:\n  pages:\n    - path: /c\n      event: like\n", `tracking.pages[0].event: unknown event "like"`},
		{"sync", "store:\n  sync: sometimes\n", `store.sync: unknown policy "sometimes"`},
		{"shrink", "store:\n  shrink_ratio: 1\n", `store.shrink_ratio: 1: want at least 1.1`},
		{"strict", "consent:\n  strict: true\n", `consent.consent_cookie: required with consent.strict`},
		{"customer empty", "identity:\n  customer: {fold_case: true}\n", `identity.customer: name a header or a cookie`},
		{"unsigned cookie", "identity:\n  customer: {cookie: session}\n", `identity.customer.keys: required with a cookie`},
		{"cookie format", "identity:\n  customer: {cookie: s, cookie_format: plain, keys: [MDEyMzQ1Njc4OWFiY2RlZg==]}\n", `identity.customer.cookie_format: unknown format "plain"`},
		{"kafka topic", "kafka:\n  brokers: [k:9092]\n", `kafka.topic: required with kafka.brokers`},
		{"kafka broker", "kafka:\n  brokers: [k]\n  topic: t\n", `kafka.brokers[0]: "k": want host:port`},
		{"dedup window", "events:\n  dedup_window: -1h\n", `events.dedup_window`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("t.yaml", []byte("origin: http://o:1\n"+tt.yaml))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
}
