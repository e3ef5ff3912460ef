package config

import (
	"net"
	"slices"
	"strconv"
	"strings"
)

var (
	trackEvents   = []string{"view", "add_to_cart", "remove_from_cart", "purchase"}
	syncPolicies  = []string{"always", "every_second", "never"}
	cookieFormats = []string{"hmac", "jwt"}
)

// validateIngest checks tracking, events, customer identity, consent, store
// and Kafka settings.
func (c *Config) validateIngest() Errors {
	var errs Errors
	add := func(path, format string, args ...any) { errs = append(errs, c.Errorf(path, format, args...)) }
	t := c.Tracking
	for i, pg := range t.Pages {
		p := "tracking.pages[" + strconv.Itoa(i) + "]"
		if msg := CheckPathPattern(pg.Path); msg != "" {
			add(p+".path", "%q: %s", pg.Path, msg)
		}
		if !slices.Contains(trackEvents, pg.Event) {
			add(p+".event", "unknown event %q, want one of %s", pg.Event, strings.Join(trackEvents, ", "))
		}
		if pg.CategoryHeader != "" && !validCookieName(pg.CategoryHeader) {
			add(p+".category_header", "%q is not a header name", pg.CategoryHeader)
		}
	}
	if t.EventHeader != "off" && !validCookieName(t.EventHeader) {
		add("tracking.event_header", "%q is not a header name", t.EventHeader)
	}
	if t.Workers < 1 || t.Workers > 1024 {
		add("tracking.workers", "%d: want 1 to 1024", t.Workers)
	}
	if t.Queue < 1 {
		add("tracking.queue", "%d: must be positive", t.Queue)
	}
	for _, d := range []struct {
		path string
		v    Duration
	}{{"events.dedup_window", c.Events.DedupWindow}, {"events.max_past", c.Events.MaxPast}, {"events.max_future", c.Events.MaxFuture}} {
		if d.v < 0 {
			add(d.path, "%s: must not be negative", d.v)
		}
	}
	if cu := c.Identity.Customer; cu != nil {
		if cu.Header == "" && cu.Cookie == "" {
			add("identity.customer", "name a header or a cookie the customer id comes from")
		}
		if cu.Header != "" && !validCookieName(cu.Header) {
			add("identity.customer.header", "%q is not a header name", cu.Header)
		}
		if cu.Cookie != "" {
			if !validCookieName(cu.Cookie) {
				add("identity.customer.cookie", "%q is not a cookie name", cu.Cookie)
			}
			if !slices.Contains(cookieFormats, cu.CookieFormat) {
				add("identity.customer.cookie_format", "unknown format %q, want hmac or jwt", cu.CookieFormat)
			}
			if len(cu.Keys) == 0 {
				add("identity.customer.keys", "required with a cookie: an unsigned cookie is never trusted as a customer id")
			}
		}
		for i, k := range cu.Keys {
			if b, err := DecodeKey(k); err != nil || len(b) < MinKeyBytes {
				add("identity.customer.keys["+strconv.Itoa(i)+"]", "want base64 of at least %d bytes", MinKeyBytes)
			}
		}
	}
	cs := c.Consent
	if cs.OptOutCookie != "" && !validCookieName(cs.OptOutCookie) {
		add("consent.opt_out_cookie", "%q is not a cookie name", cs.OptOutCookie)
	}
	if cs.Strict && cs.ConsentCookie == "" {
		add("consent.consent_cookie", "required with consent.strict")
	}
	if cs.ConsentCookie != "" && !validCookieName(cs.ConsentCookie) {
		add("consent.consent_cookie", "%q is not a cookie name", cs.ConsentCookie)
	}
	if c.Store.Sync != "" && !slices.Contains(syncPolicies, c.Store.Sync) {
		add("store.sync", "unknown policy %q, want always, every_second or never", c.Store.Sync)
	}
	if c.Store.ShrinkRatio < 1.1 && c.Store.ShrinkRatio > 0 {
		add("store.shrink_ratio", "%g: want at least 1.1, or negative to disable", c.Store.ShrinkRatio)
	}
	for i, b := range c.Kafka.Brokers {
		if _, _, err := net.SplitHostPort(b); err != nil {
			add("kafka.brokers["+strconv.Itoa(i)+"]", "%q: want host:port", b)
		}
	}
	if len(c.Kafka.Brokers) > 0 && c.Kafka.Topic == "" {
		add("kafka.topic", "required with kafka.brokers")
	}
	return errs
}

// CheckPathPattern checks a tracking path pattern: it starts with "/", and
// each segment is literal or one of the placeholders {category} and
// {product}, each at most once. It returns what is wrong, or "".
func CheckPathPattern(p string) string {
	if !strings.HasPrefix(p, "/") {
		return "want a path starting with /"
	}
	seen := map[string]bool{}
	for _, seg := range strings.Split(p[1:], "/") {
		if strings.ContainsAny(seg, "{}") {
			if seg != "{category}" && seg != "{product}" {
				return "placeholders are whole segments, {category} or {product}"
			}
			if seen[seg] {
				return seg + " used twice"
			}
			seen[seg] = true
		}
	}
	return ""
}
