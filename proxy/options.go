package proxy

import (
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/marquee-proxy/marquee/cache"
	"github.com/marquee-proxy/marquee/inject"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"
)

// Defaults applied by New to zero fields of Options. fasthttp's own defaults
// are unlimited for most of these, which lets one slow or hostile client hold
// resources forever, so every limit is set explicitly. They are also the
// marquee command's defaults: its config builds them from DefaultOptions, so
// a library user and a command user get the same proxy.
const (
	// DefaultListen is loopback only: a proxy that nobody configured should
	// not be reachable from other hosts.
	DefaultListen          = "127.0.0.1:8000"
	DefaultHeaderTimeout   = 5 * time.Second
	DefaultReadTimeout     = 10 * time.Second
	DefaultWriteTimeout    = 30 * time.Second
	DefaultIdleTimeout     = 60 * time.Second
	DefaultOriginTimeout   = 15 * time.Second
	DefaultMaxHeaderBytes  = 16 << 10
	DefaultMaxRequestBody  = 8 << 20
	DefaultMaxResponseBody = 1 << 30
	// DefaultMaxRewriteBody is the compiler's own bound, so that a page
	// read in full for rewriting is never one the compiler refuses.
	DefaultMaxRewriteBody = inject.DefaultMaxBodySize
	DefaultMaxConns       = 10000
	// DefaultMaxConnsPerIP keeps one address from holding more than a
	// tenth of DefaultMaxConns, while an office or a carrier NAT of some
	// 170 browsers (six connections each) still fits.
	DefaultMaxConnsPerIP  = 1024
	DefaultMaxOriginConns = 1024
	DefaultGzipLevel      = 1
	DefaultBrotliQuality  = 1
)

// Options configures a Server. The zero value is usable once Origins is set:
// New fills every zero field with the default named in its doc. Options is
// read once by New; changing it afterwards has no effect.
type Options struct {
	// Listen is the TCP address ListenAndServe binds, e.g. ":8080" or
	// "127.0.0.1:0". Zero means DefaultListen (127.0.0.1:8000). Serve
	// ignores it.
	Listen string

	// Origins are the base URLs of the origin, e.g. "http://127.0.0.1:8080".
	// Only scheme http or https, a host and an optional port are allowed; a
	// path, query or user info is an error. Several origins are replicas of
	// one site and are balanced least-loaded (fasthttp.LBClient). Required.
	// These are the only hosts the proxy ever connects to, whatever a
	// request's Host header or absolute-form target says.
	Origins []string

	// PreserveHost sends the client's Host to the origin. False (the
	// default) sends the host of the first origin, as nginx does; the
	// client's host is always in X-Forwarded-Host.
	PreserveHost bool

	// TrustedProxies are the peer address ranges whose X-Forwarded-For,
	// X-Forwarded-Proto and X-Forwarded-Host are believed and extended.
	// From any other peer those headers (and Forwarded, X-Real-Ip) are
	// replaced. Nil trusts nobody.
	TrustedProxies []netip.Prefix

	// HeaderTimeout bounds reading one request head from a client,
	// counted from the connection's opening for its first request and from
	// the first byte for the next ones on a keep-alive connection. A client
	// that trickles its head (slowloris) holds its connection no longer.
	// Zero means DefaultHeaderTimeout (5 s); it is never longer than
	// ReadTimeout.
	HeaderTimeout time.Duration

	// ReadTimeout bounds reading one request body from a client, counted
	// from the end of its head. Zero means DefaultReadTimeout (10 s).
	ReadTimeout time.Duration

	// WriteTimeout bounds writing one response, body included, to a client.
	// A streamed body that takes longer is cut. Zero means
	// DefaultWriteTimeout (30 s).
	WriteTimeout time.Duration

	// IdleTimeout closes a keep-alive connection with no request for this
	// long. Zero means DefaultIdleTimeout (60 s).
	IdleTimeout time.Duration

	// OriginTimeout bounds one origin exchange: sending the request and
	// receiving the full response, streamed body included. Exceeding it
	// before the response starts, which for a body read in full (one of
	// declared length up to 256 KiB, or a page for the rewrite stage) means
	// before the whole body has arrived, yields 504; a streamed body is cut.
	// Zero means DefaultOriginTimeout (15 s).
	OriginTimeout time.Duration

	// MaxHeaderBytes is the largest request head (request line plus
	// headers) accepted, in bytes; larger gets 431 (RFC 6585 §5). It is
	// also the read buffer for origin response heads. Zero means
	// DefaultMaxHeaderBytes (16 KiB).
	MaxHeaderBytes int

	// MaxRequestBody is the largest request body accepted, in bytes;
	// larger gets 413. Zero means DefaultMaxRequestBody (8 MiB).
	MaxRequestBody int

	// MaxResponseBody is the largest origin response body relayed, in
	// bytes. A declared larger length gets 502; a streamed body that grows
	// past it is cut. Zero means DefaultMaxResponseBody (1 GiB).
	MaxResponseBody int

	// MaxRewriteBody is the largest HTML body, in bytes (both as received
	// and decoded), read into memory for the rewrite stage. Larger pages
	// are streamed untouched. Zero means DefaultMaxRewriteBody (4 MiB).
	MaxRewriteBody int

	// MaxConns caps concurrent client connections. Zero means
	// DefaultMaxConns (10000).
	MaxConns int

	// MaxConnsPerIP caps concurrent connections from one client address,
	// the peer's; more get 429 and are closed. Peers in TrustedProxies are
	// not bounded.
	// Zero means DefaultMaxConnsPerIP (1024); negative means no bound, for
	// a proxy behind a CDN or load balancer whose addresses carry
	// everyone's connections and are not listed in TrustedProxies.
	MaxConnsPerIP int

	// MaxOriginConns caps open connections to each origin. A request that
	// finds none free waits until OriginTimeout. Zero means
	// DefaultMaxOriginConns (1024).
	MaxOriginConns int

	// GzipLevel is the gzip level for rewritten bodies, 1 (fastest) to 9.
	// Zero means DefaultGzipLevel (1): on the 61 KB listing page level 1
	// takes 73 µs for 8.8 KB, level 5 126 µs for 7.7 KB (BenchmarkEncode).
	// Pages are compressed per request, so CPU wins over a few bytes.
	GzipLevel int

	// BrotliQuality is the brotli quality for rewritten bodies, 1 to 11.
	// Zero means DefaultBrotliQuality (1): 190 µs for 7.4 KB on the
	// listing page, where quality 4 takes 760 µs. Brotli is used only when
	// the client prefers it to gzip by qvalue or does not take gzip.
	BrotliQuality int

	// Dial opens a connection to an origin's host:port. Nil uses
	// fasthttp's TCP dialer, which caches DNS answers for a minute. Tests
	// and benchmarks set it to reach an in-memory origin.
	Dial func(addr string) (net.Conn, error)

	// Rewriter is the rewrite stage for eligible HTML pages. Nil disables
	// the stage: every response is streamed through untouched.
	Rewriter Rewriter

	// Local answers some requests itself, before anything is sent to the
	// origin, such as marquee's own /_marquee/ endpoints. Nil forwards
	// everything.
	Local LocalHandler

	// ObserveResponse, when set, sees the request and origin response
	// headers of every response that bypasses the rewrite stage (redirects,
	// JSON, other statuses), before StripResponseHeaders are removed: an
	// origin may annotate an add-to-cart redirect with an event. It is
	// called on the request path, concurrently: it must not block and must
	// not retain either header.
	ObserveResponse func(req *fasthttp.RequestHeader, resp *fasthttp.ResponseHeader)

	// StripResponseHeaders are origin response headers meant for the proxy
	// alone (a customer id, an event annotation): the rewrite stage can
	// read them, the client never sees them. Nil strips nothing.
	StripResponseHeaders []string

	// StripQueryParams are query parameters meant for the proxy alone (a
	// preview token): the rewrite stage and Local see them in the client's
	// request, the origin's request goes without them. Names are compared
	// with the parameter's name percent-decoded. Nil strips nothing.
	StripQueryParams []string

	// Cache turns the edge cache on: GET and HEAD responses the origin lets
	// shared caches store (RFC 9111) are kept and served without the
	// origin, pages the rewrite stage reads decoded with its compiled form
	// (see RewriteContext.SetCacheValue). Responses carrying a field of
	// StripResponseHeaders are never stored: they describe one visitor.
	// StripQueryParams are left out of keys, as the origin never sees
	// them. A nil Registry in it means Registry. Nil: no cache, every
	// request goes to the origin.
	Cache *cache.Options

	// XCacheHeader adds X-Cache: HIT, MISS, STALE or REVALIDATED to every
	// response to a GET or HEAD while the cache is on.
	XCacheHeader bool

	// Logger receives one line per origin failure and per rewrite failure,
	// nothing per request above Debug. Nil discards.
	Logger *slog.Logger

	// Registry receives the proxy's metrics. Nil creates a private
	// registry, available from Server.Gatherer.
	Registry prometheus.Registerer
}

// DefaultOptions returns Options with every default filled in and no
// origin, for callers that show or adjust the defaults before calling New.
func DefaultOptions() Options {
	o := Options{}.withDefaults()
	o.Logger = nil
	return o
}

// origin is one compiled entry of Options.Origins.
type origin struct {
	addr  string // host:port dialled
	host  string // Host header value
	isTLS bool
}

// withDefaults returns a copy of o with every zero field set to its default.
func (o Options) withDefaults() Options {
	setDur := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	setInt := func(i *int, v int) {
		if *i <= 0 {
			*i = v
		}
	}
	if o.Listen == "" {
		o.Listen = DefaultListen
	}
	setDur(&o.ReadTimeout, DefaultReadTimeout)
	setDur(&o.HeaderTimeout, DefaultHeaderTimeout)
	o.HeaderTimeout = min(o.HeaderTimeout, o.ReadTimeout)
	setDur(&o.WriteTimeout, DefaultWriteTimeout)
	setDur(&o.IdleTimeout, DefaultIdleTimeout)
	setDur(&o.OriginTimeout, DefaultOriginTimeout)
	setInt(&o.MaxHeaderBytes, DefaultMaxHeaderBytes)
	setInt(&o.MaxRequestBody, DefaultMaxRequestBody)
	setInt(&o.MaxResponseBody, DefaultMaxResponseBody)
	setInt(&o.MaxRewriteBody, DefaultMaxRewriteBody)
	setInt(&o.MaxConns, DefaultMaxConns)
	if o.MaxConnsPerIP == 0 {
		o.MaxConnsPerIP = DefaultMaxConnsPerIP
	}
	setInt(&o.MaxOriginConns, DefaultMaxOriginConns)
	setInt(&o.GzipLevel, DefaultGzipLevel)
	setInt(&o.BrotliQuality, DefaultBrotliQuality)
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// validate checks the fields New cannot default.
func (o *Options) validate() error {
	if o.GzipLevel > 9 {
		return fmt.Errorf("%w: GzipLevel %d out of 1..9", ErrInvalidOptions, o.GzipLevel)
	}
	if o.BrotliQuality > 11 {
		return fmt.Errorf("%w: BrotliQuality %d out of 0..11", ErrInvalidOptions, o.BrotliQuality)
	}
	for _, p := range o.TrustedProxies {
		if !p.IsValid() {
			return fmt.Errorf("%w: invalid trusted proxy prefix %v", ErrInvalidOptions, p)
		}
	}
	return nil
}

// parseOrigins compiles Options.Origins once, so the request path never
// parses a URL.
func parseOrigins(raw []string) ([]origin, error) {
	if len(raw) == 0 {
		return nil, fmt.Errorf("%w: no origin", ErrInvalidOptions)
	}
	out := make([]origin, 0, len(raw))
	for _, s := range raw {
		u, err := url.Parse(strings.TrimSpace(s))
		if err != nil {
			return nil, fmt.Errorf("%w: origin %q: %w", ErrInvalidOptions, s, err)
		}
		if u.Scheme != "http" && u.Scheme != "https" {
			return nil, fmt.Errorf("%w: origin %q: scheme must be http or https", ErrInvalidOptions, s)
		}
		if u.Host == "" || u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
			return nil, fmt.Errorf("%w: origin %q: want scheme://host[:port] only", ErrInvalidOptions, s)
		}
		o := origin{host: u.Host, isTLS: u.Scheme == "https", addr: u.Host}
		if u.Port() == "" {
			port := "80"
			if o.isTLS {
				port = "443"
			}
			o.addr = u.Hostname() + ":" + port
			if strings.Contains(u.Hostname(), ":") {
				o.addr = "[" + u.Hostname() + "]:" + port
			}
		}
		out = append(out, o)
	}
	for _, o := range out[1:] {
		if o.isTLS != out[0].isTLS {
			return nil, fmt.Errorf("%w: origins mix http and https", ErrInvalidOptions)
		}
	}
	return out, nil
}
