package personalize

import (
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/marquee-proxy/marquee/config"
	"github.com/marquee-proxy/marquee/export"
	msync "github.com/marquee-proxy/marquee/sync"
)

// Options configures a Personalizer.
type Options struct {
	// Snapshot is the compiled configuration to start with. Required.
	Snapshot *Snapshot
	// Store holds the profiles. Required.
	Store *msync.Store
	// Keys are the cookie-signing keys, the signing one first. Required.
	Keys [][]byte
	// CookieName is the visitor cookie's name. Zero means DefaultOptions'
	// ("mq_vid").
	CookieName string
	// CookieMaxAge is the visitor cookie's lifetime. Zero (or less than a
	// second) means DefaultOptions' (365 days).
	CookieMaxAge time.Duration
	// SecureCookie marks the cookie Secure on every response, not only on
	// requests that came over TLS.
	SecureCookie bool
	// Now is the clock. Nil means time.Now.
	Now func() time.Time
	// Logger receives failed renders, at most one line per campaign a
	// minute with the count of those not logged. Nil discards.
	Logger *slog.Logger
	// Registry receives the personaliser's metrics. Nil: not registered.
	Registry prometheus.Registerer
	// Recorder counts exposures and conversions. Nil: not counted.
	Recorder Recorder
	// Exporter streams exposure and conversion records to a warehouse;
	// the caller shuts it down after the Personalizer. Nil: nothing is
	// exported.
	Exporter *export.Exporter
	// Node names this node in the cap counts it writes. Zero means
	// DefaultOptions' ("local", the store's default node name).
	Node string
	// Tracker records observed page views. Nil: nothing is tracked.
	Tracker *Tracker
	// Customer resolves logged-in visitors to their customer profile.
	// Nil: visitors stay anonymous.
	Customer *CustomerResolver
	// Consent says when visitors are neither personalised nor tracked.
	Consent ConsentPolicy
	// PreviewFrameAncestors is the CSP source list (e.g.
	// "http://127.0.0.1:9000 http://localhost:9000") of the pages that may
	// frame a page opened with a valid preview token: the admin console,
	// which shows the page preview in an iframe. For those requests only,
	// the origin's X-Frame-Options and CSP frame-ancestors are replaced by
	// a frame-ancestors of this list. Empty: the origin's framing rules
	// always stand.
	PreviewFrameAncestors string
}

// DefaultOptions returns Options with every default filled in and nothing
// required (no snapshot, store or keys), for callers that show or adjust
// the defaults before calling New. The cookie's name and lifetime are the
// config's defaults, read from config.Default, so that a library user and
// the marquee command mint the same cookie; the node name is the store's.
func DefaultOptions() Options {
	id := config.Default().Identity
	return Options{
		CookieName:   id.Cookie,
		CookieMaxAge: id.MaxAge.D(),
		Node:         msync.DefaultNode,
	}
}

// withDefaults returns o with every zero field set from DefaultOptions, Now
// to time.Now and Logger to one that discards.
func (o Options) withDefaults() Options {
	d := DefaultOptions()
	if o.CookieName == "" {
		o.CookieName = d.CookieName
	}
	if o.CookieMaxAge < time.Second {
		o.CookieMaxAge = d.CookieMaxAge
	}
	if o.Node == "" {
		o.Node = d.Node
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}
