package config

// Config is marquee's configuration as written in its YAML file, after
// its own defaults have been applied (fields that configure package proxy,
// sync or cluster stay zero when left out: see [Default]). It holds plain
// values only: the packages that
// use a part of it compile that part (expressions, templates, selectors) into
// their own read-only form.
//
// A Config returned by [Load] or [Parse] remembers where each field came from,
// so that [Config.Errorf] can point at the line.
type Config struct {
	// Listen is the public address the proxy serves visitors on.
	// Default "127.0.0.1:8000".
	Listen string `yaml:"listen"`

	// Origin is the shop's base URL, or several for load balancing
	// ("http://host:port"). Required.
	Origin StringList `yaml:"origin"`

	// TrustedProxies lists address ranges (CIDR or single addresses) whose
	// X-Forwarded-* headers are believed. Empty: none are, and the proxy sets
	// them from what it sees.
	TrustedProxies []string `yaml:"trusted_proxies"`

	// Admin configures the admin HTTP API.
	Admin Admin `yaml:"admin"`

	// DataDir holds the profile store and generated keys. Empty keeps
	// everything in memory, lost on exit.
	DataDir string `yaml:"data_dir"`

	// TimeZone names the IANA zone of daily buckets and schedules.
	// Default "UTC".
	TimeZone string `yaml:"time_zone"`

	// Identity configures the visitor cookie.
	Identity Identity `yaml:"identity"`

	// Limits bounds what the proxy accepts and waits for.
	Limits Limits `yaml:"limits"`

	// Slots names page regions by CSS selector, in addition to elements
	// marked with a data-marquee-slot attribute.
	Slots []Slot `yaml:"slots"`

	// Segments maps a segment name to a boolean expression over the
	// visitor's profile. Order is kept as written.
	Segments Segments `yaml:"segments"`

	// Campaigns fill slots with offers.
	Campaigns []Campaign `yaml:"campaigns"`

	// GlobalHoldout is the share of all visitors (0 to 1) who never see a
	// campaign, to measure what personalisation as a whole is worth.
	GlobalHoldout float64 `yaml:"global_holdout"`

	// Salt changes every experiment assignment at once when changed.
	// Default "marquee".
	Salt string `yaml:"salt"`

	// Catalog is a JSON or NDJSON file of products for recommendations,
	// as written: CatalogPath resolves it. Empty: templates' recommend
	// returns nothing.
	Catalog string `yaml:"catalog"`

	// RecommendViewed lets recommend return the product of the page being
	// served and the products the visitor viewed recently. Default false:
	// a shopper is rarely helped by being shown what they are looking at
	// or have just looked at.
	RecommendViewed bool `yaml:"recommend_viewed"`

	// CatalogDir is the only directory catalogs are read from: a catalog
	// named in this file, in a document sent over the admin API or by
	// another node must resolve inside it, symlinks included. A relative
	// CatalogDir is relative to the configuration file's directory.
	// Default: the configuration file's directory. Not replaceable at run
	// time.
	CatalogDir string `yaml:"catalog_dir"`

	// Conversions says what counts as a conversion of an exposed visitor.
	Conversions Conversions `yaml:"conversions"`

	// Bots configures crawler detection; crawlers always get the fallback.
	Bots Bots `yaml:"bots"`

	// Geo says where geo.country, geo.region and geo.city come from. Both
	// sources empty: they read "".
	Geo Geo `yaml:"geo"`

	// Tracking turns observed page views into profile updates.
	Tracking Tracking `yaml:"tracking"`

	// Events bounds and normalises incoming events.
	Events Events `yaml:"events"`

	// Consent says when visitors are neither personalised nor tracked.
	Consent Consent `yaml:"consent"`

	// Store configures the profile store on disk.
	Store Store `yaml:"store"`

	// Kafka configures an optional events topic consumer.
	Kafka Kafka `yaml:"kafka"`

	// Log configures logging.
	Log Log `yaml:"log"`

	// Cluster configures gossip between edge nodes. Nil: this node runs alone.
	Cluster *Cluster `yaml:"cluster"`

	// Cache configures the edge cache. Nil (no cache section): every
	// request goes to the origin.
	Cache *Cache `yaml:"cache"`

	// Export streams exposures and conversions to a warehouse. Nil (no
	// export section): nothing is exported.
	Export *Export `yaml:"export"`

	file string
	dir  string // directory relative paths are read against; "" for the working directory
	pos  map[string]int
}

// Admin configures the admin HTTP API listener.
type Admin struct {
	// Listen is the admin API address. Default "127.0.0.1:9000"; "off"
	// disables the admin API.
	Listen string `yaml:"listen"`

	// Token, when set, must be sent as "Authorization: Bearer TOKEN" with
	// every admin call. It is an edit token named "admin", alongside
	// Tokens. Token and Tokens may both be empty only when Listen is a
	// loopback address.
	Token string `yaml:"token"`

	// PreviewURL is the shop as browsers reach it through this proxy,
	// e.g. "http://127.0.0.1:8000" or "https://shop.example": the base of
	// the page preview links the campaign editor opens. An absolute http
	// or https URL without query. Empty: "http://" and listen (with the
	// port the proxy got) when listen names a host, other than 0.0.0.0
	// or ::; otherwise previews carry no page link.
	PreviewURL string `yaml:"preview_url"`

	// Tokens are named bearer tokens, each with a role: "read" tokens may
	// look, "edit" tokens may also change. Names appear in the audit log.
	Tokens []AdminToken `yaml:"tokens"`
}

// AdminToken is one named admin API bearer token.
type AdminToken struct {
	// Name identifies the token's holder in the audit log and GET
	// /v1/whoami: letters, digits and "_.-", unique, not "anonymous".
	Name string `yaml:"name"`
	// Token is the secret, at least MinAdminTokenBytes long.
	Token string `yaml:"token"`
	// Role is "read" or "edit".
	Role string `yaml:"role"`
}

// Identity configures how visitors are recognised.
type Identity struct {
	// Cookie is the name of the signed visitor cookie. Default "mq_vid".
	Cookie string `yaml:"cookie"`

	// Keys are base64 cookie-signing keys, as printed by `marquee keygen`.
	// The first signs; every key verifies, so keys rotate by prepending a
	// new one. Empty: one key is generated and kept in DataDir (or held in
	// memory for the life of the process when DataDir is empty).
	Keys []string `yaml:"keys"`

	// Secure marks the cookie Secure even on plain-HTTP requests, for a
	// proxy behind a TLS-terminating load balancer.
	Secure bool `yaml:"secure"`

	// MaxAge is the cookie's lifetime. Default 365d.
	MaxAge Duration `yaml:"max_age"`

	// Customer names where a logged-in visitor's customer id comes from.
	// Nil: visitors stay anonymous.
	Customer *Customer `yaml:"customer"`
}

// Limits bounds the proxy. Zero values get the defaults named per field;
// nothing is unlimited.
type Limits struct {
	// HeaderTimeout bounds reading one request head from a client, from
	// the connection's opening or a keep-alive request's first byte.
	// Default 5s, and never longer than ReadTimeout.
	HeaderTimeout Duration `yaml:"header_timeout"`
	// ReadTimeout bounds reading one request body from a client, from the
	// end of its head. Default 10s.
	ReadTimeout Duration `yaml:"read_timeout"`
	// WriteTimeout bounds writing one response to a client. Default 30s.
	WriteTimeout Duration `yaml:"write_timeout"`
	// IdleTimeout bounds how long a keep-alive connection waits for its next
	// request. Default 60s.
	IdleTimeout Duration `yaml:"idle_timeout"`
	// OriginTimeout bounds waiting for the origin's response; past it the
	// visitor gets 504. Default 15s.
	OriginTimeout Duration `yaml:"origin_timeout"`
	// MaxHeaderBytes bounds a request's header block; larger gets 431.
	// Default 16KiB.
	MaxHeaderBytes ByteSize `yaml:"max_header_bytes"`
	// MaxRequestBody bounds an uploaded request body. Default 8MiB.
	MaxRequestBody ByteSize `yaml:"max_request_body"`
	// MaxResponseBody bounds an origin response the proxy relays.
	// Default 1GiB.
	MaxResponseBody ByteSize `yaml:"max_response_body"`
	// MaxRewriteBody is the largest HTML page that is personalised; larger
	// pages stream through untouched. Default 4MiB.
	MaxRewriteBody ByteSize `yaml:"max_rewrite_body"`
	// MaxConns bounds concurrent client connections. Default 10000.
	MaxConns int `yaml:"max_conns"`
	// MaxConnsPerIP bounds concurrent connections from one client address.
	// Default 1024; trusted proxies are not bounded; -1: no per-address
	// bound (behind a CDN or load balancer not in trusted_proxies).
	MaxConnsPerIP int `yaml:"max_conns_per_ip"`
}

// Slot names a page region by CSS selector.
type Slot struct {
	// Name is the slot name campaigns refer to.
	Name string `yaml:"name"`
	// Selector is a CSS selector; every element it matches is the slot.
	Selector string `yaml:"selector"`
	// Mode is where the offer goes: inner (default), outer, before, after,
	// prepend or append.
	Mode string `yaml:"mode"`
}

// Segment is one named boolean expression over a profile.
type Segment struct {
	// Name is how campaigns and other segments refer to it.
	Name string
	// When is the expression.
	When string
}

// Campaign fills one slot with an offer for the visitors its condition
// selects.
type Campaign struct {
	// ID identifies the campaign in statistics and logs; unique.
	ID string `yaml:"id"`
	// Slot is the name of the slot the offer fills.
	Slot string `yaml:"slot"`
	// When is an expression; segment names are booleans in it. Empty: every
	// visitor.
	When string `yaml:"when"`
	// Priority orders campaigns competing for one slot; highest wins.
	Priority int `yaml:"priority"`
	// Template is an html/template rendered with .Profile; values are
	// escaped for their context.
	Template string `yaml:"template"`
	// Schedule limits when the campaign runs. Nil: always.
	Schedule *Schedule `yaml:"schedule"`
	// Cap limits how often one visitor sees the campaign. Nil: no limit.
	Cap *Cap `yaml:"cap"`
	// Experiment splits the campaign's visitors between variants and a
	// holdout. Nil: everyone it selects sees Template.
	Experiment *Experiment `yaml:"experiment"`
}

// Schedule limits when a campaign runs.
type Schedule struct {
	// From is the first instant the campaign runs (RFC 3339). Empty: no
	// start.
	From string `yaml:"from"`
	// To is the instant the campaign stops (RFC 3339, exclusive). Empty: no
	// end.
	To string `yaml:"to"`
	// Days lists the days of the week it runs: mon, tue, ... Empty: every
	// day.
	Days []string `yaml:"days"`
	// Hours lists daily time ranges it runs, "HH:MM-HH:MM", end exclusive;
	// a range may cross midnight. Empty: all day.
	Hours []string `yaml:"hours"`
	// TimeZone names the zone of Days and Hours. Default: time_zone.
	TimeZone string `yaml:"time_zone"`
}

// Cap limits impressions of a campaign per visitor.
type Cap struct {
	// Max is the number of impressions allowed within Window.
	Max int `yaml:"max"`
	// Window is counted in whole days, today included. Default 1d.
	Window Duration `yaml:"window"`
}

// Experiment splits a campaign's visitors.
type Experiment struct {
	// ID names the experiment in statistics and in profiles. Default: the
	// campaign id.
	ID string `yaml:"id"`
	// Salt changes this experiment's assignment when changed. Default: the
	// top-level salt.
	Salt string `yaml:"salt"`
	// Holdout is the share (0 to 1) of the campaign's visitors who see the
	// slot's fallback instead, as the control group.
	Holdout float64 `yaml:"holdout"`
	// Variants are the offers compared; at least one.
	Variants []Variant `yaml:"variants"`
	// Layer makes the experiment exclusive with every other experiment of
	// the same layer: the layer's visitors are split evenly between its
	// experiments, so nobody is in two of them. A visitor the layer gives
	// to another experiment is not in this one: the campaign does not
	// apply to them. Empty: no layer, everyone the campaign selects.
	Layer string `yaml:"layer,omitempty"`
	// Metrics are what the experiment is judged by, in report order:
	// conversion, orders_per_visitor, revenue_per_visitor, aov. Empty:
	// conversion.
	Metrics []string `yaml:"metrics,omitempty"`
	// Primary is the metric the experiment is decided on; one of Metrics.
	// Empty: the first.
	Primary string `yaml:"primary,omitempty"`
	// Guardrails are metrics that must not get significantly worse; a
	// variant that worsens one is flagged in the report.
	Guardrails []string `yaml:"guardrails,omitempty"`
	// Analysis is sequential (always-valid p-values, results may be read
	// daily) or fixed (Welch's test, read once at a planned size). Empty:
	// sequential.
	Analysis string `yaml:"analysis,omitempty"`
	// CUPED adjusts metrics with each visitor's behaviour in the 30 days
	// before enrollment. Nil: on.
	CUPED *bool `yaml:"cuped,omitempty"`
}

// Variant is one arm of an experiment.
type Variant struct {
	// Name identifies the variant; unique in its experiment.
	Name string `yaml:"name"`
	// Weight is the variant's relative share. Default 1.
	Weight float64 `yaml:"weight"`
	// Template is the variant's offer. Empty: the campaign's template.
	Template string `yaml:"template"`
	// Control marks the variant lift is measured against; without one,
	// lift is measured against the holdout.
	Control bool `yaml:"control"`
}

// Conversions says what counts as a conversion.
type Conversions struct {
	// Paths are URL path patterns seen by the proxy, e.g.
	// "/checkout/complete"; a trailing "*" matches any rest.
	Paths []string `yaml:"paths"`
	// Events are event types from the events API, e.g. purchase.
	Events []string `yaml:"events"`
	// Window is how long after an exposure a conversion is attributed to
	// it. Default 7d.
	Window Duration `yaml:"window"`
}

// Bots configures crawler detection.
type Bots struct {
	// UserAgents are case-insensitive substrings of crawler user agents.
	// Empty: a built-in list of the common crawlers.
	UserAgents []string `yaml:"user_agents"`
}

// Log configures logging.
type Log struct {
	// Level is debug, info (default), warn or error.
	Level string `yaml:"level"`
	// Format is text (default) or json.
	Format string `yaml:"format"`
}

// Cluster configures membership between edge nodes.
type Cluster struct {
	// Name labels this fleet; nodes of another fleet are never merged with.
	// Default "marquee".
	Name string `yaml:"name"`
	// NodeName identifies this node. Default: the host name.
	NodeName string `yaml:"node_name"`
	// Bind is the gossip address. Default "0.0.0.0:7946".
	Bind string `yaml:"bind"`
	// Advertise is the address other nodes reach this one at. Default: Bind.
	Advertise string `yaml:"advertise"`
	// Join lists seed nodes as host:port.
	Join []string `yaml:"join"`
	// SecretKeys are base64 AES keys (16, 24 or 32 bytes); the first
	// encrypts, all decrypt.
	SecretKeys []string `yaml:"secret_keys"`
	// Preset is lan (default) or wan.
	Preset string `yaml:"preset"`
	// PurgeRetention is how long a cache purge is kept for nodes that
	// missed it; at least the longest time the cache may keep an entry.
	// Zero: cluster.DefaultConfig's (24h).
	PurgeRetention Duration `yaml:"purge_retention"`
}

// Cache configures the edge cache, which holds origin responses at the
// node under shared-cache rules (RFC 9111).
type Cache struct {
	// MaxSize bounds the memory the cache holds: bodies, headers and
	// compiled pages. Required.
	MaxSize ByteSize `yaml:"max_size"`
	// MaxObject is the largest response stored, as a size ("8MiB") or a
	// share of MaxSize ("5%"); larger ones stream through unstored.
	// Default: the cache package's (a sixteenth of MaxSize).
	MaxObject SizeOrShare `yaml:"max_object"`
	// StaleIfError is how long past its freshness a response may be
	// served while the origin fails, when the response does not say
	// (stale-if-error). Zero: only what responses say.
	StaleIfError Duration `yaml:"stale_if_error"`
	// IgnoreQuery names query parameters left out of cache keys: exact
	// names ("gclid") or prefixes ending in "*" ("utm_*").
	IgnoreQuery []string `yaml:"ignore_query"`
	// HonorClientNoCache lets a client's Cache-Control: no-cache
	// revalidate a fresh entry. Default false: ignored, to protect the
	// origin.
	HonorClientNoCache bool `yaml:"honor_client_no_cache"`
	// XCacheHeader adds X-Cache: HIT, MISS, STALE or REVALIDATED to
	// responses.
	XCacheHeader bool `yaml:"x_cache_header"`
}

// File is the name of the file the configuration was read from.
func (c *Config) File() string { return c.file }

// Geo configures where expressions' geo.* names come from: a CDN's country
// header, a MaxMind-format database, or both, the header's country then
// winning over the database's.
type Geo struct {
	// Header names a request header holding the visitor's ISO country
	// code, set by a CDN in front of marquee, e.g. "CF-IPCountry". It is
	// believed only when the request comes from an address in
	// trusted_proxies: anyone else could send it. Empty: no header.
	Header string `yaml:"header"`
	// Database is a MaxMind-format (.mmdb) City or Country database, e.g.
	// GeoLite2-City.mmdb, looked up by the visitor's address (the peer, or
	// through trusted_proxies the X-Forwarded-For client). A relative path
	// is relative to the configuration file. Read once at start. Empty: no
	// database.
	Database string `yaml:"database"`
}

// GeoDatabasePath returns geo.database resolved against the configuration
// file's directory; "" when none is configured.
func (c *Config) GeoDatabasePath() string { return c.resolvePath(c.Geo.Database) }
