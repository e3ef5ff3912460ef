package config

// Tracking turns the page views the proxy sees into profile updates.
type Tracking struct {
	// Pages maps URL path patterns to events. A pattern is a path whose
	// segments may be {category} or {product} placeholders, e.g.
	// "/c/{category}"; the first matching pattern wins.
	Pages []TrackPage `yaml:"pages"`
	// EventHeader is an origin response header that describes an event
	// ("add_to_cart; product=p1; value=79"); it is removed before the
	// visitor sees the response. Default "X-Marquee-Event"; "off" ignores it.
	EventHeader string `yaml:"event_header"`
	// Workers apply updates off the request path. Default 4.
	Workers int `yaml:"workers"`
	// Queue bounds updates waiting to be applied; past it page views are
	// dropped and counted. Default 65536.
	Queue int `yaml:"queue"`
}

// TrackPage maps one URL path pattern to an event.
type TrackPage struct {
	// Path is the pattern, e.g. "/p/{product}".
	Path string `yaml:"path"`
	// Event is the event type recorded. Default "view".
	Event string `yaml:"event"`
	// Category names a fixed category for every page of the pattern.
	Category string `yaml:"category"`
	// CategoryHeader is an origin response header carrying the page's
	// category, e.g. X-Demo-Category on product pages.
	CategoryHeader string `yaml:"category_header"`
}

// Events bounds and normalises incoming events.
type Events struct {
	// DedupWindow is how long an event id is remembered, so a retried
	// event is applied once. Default 24h.
	DedupWindow Duration `yaml:"dedup_window"`
	// MaxPast rejects older events. Default 30d.
	MaxPast Duration `yaml:"max_past"`
	// MaxFuture rejects events dated further ahead (clock skew). Default 5m.
	MaxFuture Duration `yaml:"max_future"`
	// KeepCase keeps the case of category and product names; by default
	// they are trimmed and lower-cased so "Electronics " counts as
	// "electronics".
	KeepCase bool `yaml:"keep_case"`
}

// Customer names where a logged-in visitor's customer id comes from.
type Customer struct {
	// Header is an origin response header carrying the customer id once
	// the origin has authenticated the session; it is removed before the
	// visitor sees the response.
	Header string `yaml:"header"`
	// Cookie is the site's login cookie. Its value is trusted only when
	// signed as CookieFormat says.
	Cookie string `yaml:"cookie"`
	// CookieFormat is "hmac" ("ID.MAC", MAC the unpadded base64url
	// HMAC-SHA256 of ID) or "jwt" (HS256, customer id in "sub", exp and nbf
	// checked). Default "hmac".
	CookieFormat string `yaml:"cookie_format"`
	// Keys are base64 keys that verify the cookie; any may match.
	Keys []string `yaml:"keys"`
	// FoldCase lower-cases customer ids.
	FoldCase bool `yaml:"fold_case"`
}

// Consent configures when visitors are neither personalised nor tracked.
type Consent struct {
	// OptOutCookie: a request carrying this cookie (any value but "0" or
	// "false") gets the origin's page and is not tracked.
	OptOutCookie string `yaml:"opt_out_cookie"`
	// IgnoreGPC disregards the Sec-GPC: 1 header, which by default opts out.
	IgnoreGPC bool `yaml:"ignore_gpc"`
	// Strict mints no visitor cookie, and so neither personalises nor
	// tracks, until ConsentCookie is present.
	Strict bool `yaml:"strict"`
	// ConsentCookie is the cookie the site sets once the visitor agreed;
	// required with Strict.
	ConsentCookie string `yaml:"consent_cookie"`
}

// Store configures the profile store on disk.
type Store struct {
	// Sync is when writes are fsynced: "always" (a power loss loses
	// nothing acknowledged), "every_second" (the default: up to a second)
	// or "never" (whatever the OS had not written back). A killed process
	// loses nothing under any policy.
	Sync string `yaml:"sync"`
	// ShrinkRatio compacts the store file in the background once it is
	// this many times its size after the last compaction. Default 2.
	ShrinkRatio float64 `yaml:"shrink_ratio"`
	// ShrinkMinSize is the size below which the file is never compacted.
	// Default 32MiB.
	ShrinkMinSize ByteSize `yaml:"shrink_min_size"`
}

// Kafka configures an optional consumer of an events topic.
type Kafka struct {
	// Brokers are seed brokers, host:port. Empty: no consumer.
	Brokers []string `yaml:"brokers"`
	// Topic holds events in the events API's JSON schema, one per record.
	Topic string `yaml:"topic"`
	// Group is the consumer group. Default "marquee".
	Group string `yaml:"group"`
}

func (c *Config) applyIngestDefaults() {
	t := &c.Tracking
	setString(&t.EventHeader, "X-Marquee-Event")
	if t.Workers == 0 {
		t.Workers = 4
	}
	if t.Queue == 0 {
		t.Queue = 65536
	}
	for i := range t.Pages {
		setString(&t.Pages[i].Event, "view")
	}
	if cu := c.Identity.Customer; cu != nil {
		setString(&cu.CookieFormat, "hmac")
	}
	setString(&c.Kafka.Group, "marquee")
}
