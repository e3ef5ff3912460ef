package proxy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"

	"github.com/marquee-proxy/marquee/cache"
)

// Server is a reverse proxy in front of one origin site.
//
// For each request it removes hop-by-hop headers (RFC 9110 §7.6.1: Connection
// and every field it names, Proxy-Connection, Keep-Alive,
// Proxy-Authenticate, Proxy-Authorization, TE, Trailer, Transfer-Encoding,
// Upgrade) in both directions, sets X-Forwarded-For, -Proto and -Host, and
// sends it to one of Options.Origins, never to any host the request names.
// It refuses HTTP versions other than 1.0 and 1.1 (505), GET and HEAD
// requests with a body, and, from peers outside TrustedProxies, drops the
// fields that claim a client address or original URL.
// Responses pass back untouched unless they are eligible HTML pages, which
// go through the rewrite stage (see Rewriter): bodies of a declared length up
// to 256 KiB are read in full and sent with the head in one write, larger or
// undeclared ones are streamed as they arrive. Origin failures become
// 502 or 504 with a short HTML body.
//
// A Server is safe for concurrent use. Create it with New.
type Server struct {
	opts           Options
	origins        []origin
	trustedProxies []netip.Prefix
	client         originClient
	hosts          []*fasthttp.HostClient
	enc            encoders
	log            *slog.Logger
	metrics        *metrics
	srv            *fasthttp.Server
	handler        fasthttp.RequestHandler
	decoded        *decodeCache
	cache          *cache.Cache // nil: off
	background     background   // the cache's revalidations, waited for by Shutdown

	mu       sync.Mutex // guards the fields below
	ln       net.Listener
	shutdown bool
}

// originClient is the part of fasthttp.HostClient and fasthttp.LBClient the
// proxy uses.
type originClient interface {
	DoDeadline(req *fasthttp.Request, resp *fasthttp.Response, deadline time.Time) error
}

// New validates opts, applies defaults and builds a Server. It does not
// listen; call Serve or ListenAndServe.
func New(opts Options) (*Server, error) {
	o := opts.withDefaults()
	if err := o.validate(); err != nil {
		return nil, err
	}
	origins, err := parseOrigins(o.Origins)
	if err != nil {
		return nil, err
	}
	if o.Cache != nil && o.Registry == nil {
		// The cache's metrics go where the proxy's go.
		o.Registry = prometheus.NewRegistry()
	}
	m, err := newMetrics(o.Registry)
	if err != nil {
		return nil, err
	}
	var c *cache.Cache
	if o.Cache != nil {
		co := *o.Cache
		co.IgnoreQuery = append(slices.Clip(co.IgnoreQuery), o.StripQueryParams...)
		if co.Registry == nil {
			co.Registry = o.Registry
		}
		if c, err = cache.New(co); err != nil {
			m.unregister(o.Registry)
			return nil, fmt.Errorf("%w: %w", ErrInvalidOptions, err)
		}
	}
	s := &Server{
		opts:           o,
		origins:        origins,
		trustedProxies: append([]netip.Prefix(nil), o.TrustedProxies...),
		enc:            encoders{gzipLevel: o.GzipLevel, brotliQuality: o.BrotliQuality},
		log:            o.Logger,
		metrics:        m,
		decoded:        newDecodeCache(),
		cache:          c,
	}
	for i := range s.trustedProxies {
		s.trustedProxies[i] = s.trustedProxies[i].Masked()
	}
	s.client = s.newOriginClient()
	s.handler = s.serveHTTP
	s.srv = &fasthttp.Server{
		Handler:         s.handler,
		ErrorHandler:    s.serveParseError,
		Name:            "",
		Concurrency:     o.MaxConns,
		ReadBufferSize:  o.MaxHeaderBytes,
		WriteBufferSize: 16 << 10,
		// fasthttp's ReadTimeout runs from a connection's opening, or a
		// keep-alive request's first byte, until the body is read; it is
		// cut to HeaderTimeout, and once the head is in HeaderReceived
		// gives the body ReadTimeout of its own.
		ReadTimeout: o.HeaderTimeout,
		HeaderReceived: func(h *fasthttp.RequestHeader) fasthttp.RequestConfig {
			if h.ContentLength() == 0 {
				// No body to read: moving the deadline would cost a
				// timer change on every bodiless request.
				return fasthttp.RequestConfig{}
			}
			return fasthttp.RequestConfig{ReadTimeout: o.ReadTimeout}
		},
		WriteTimeout: o.WriteTimeout,
		IdleTimeout:  o.IdleTimeout,
		// MaxConnsPerIP is enforced by clientListener, which knows
		// trusted proxies.
		MaxRequestBodySize: o.MaxRequestBody,
		// The origin's Server and Content-Type pass through as sent.
		// fasthttp manages Date itself and offers no way to relay the
		// origin's, so every response carries the proxy's clock
		// (RFC 9110 §6.6.1), error pages included.
		NoDefaultServerHeader: true,
		NoDefaultContentType:  true,
		// A proxy has no use for parsed forms and must not pay for them.
		DisablePreParseMultipartForm: true,
		CloseOnShutdown:              true,
		Logger:                       fasthttpLogger{o.Logger},
	}
	return s, nil
}

func (s *Server) newOriginClient() originClient {
	hosts := make([]*fasthttp.HostClient, len(s.origins))
	for i, org := range s.origins {
		hosts[i] = &fasthttp.HostClient{
			Addr:               org.addr,
			Dial:               s.opts.Dial,
			IsTLS:              org.isTLS,
			MaxConns:           s.opts.MaxOriginConns,
			MaxConnWaitTimeout: s.opts.OriginTimeout,
			// Origin heads with many cookies or a long CSP outgrow a
			// client-sized buffer.
			ReadBufferSize:  max(s.opts.MaxHeaderBytes, 32<<10),
			WriteBufferSize: 16 << 10,
			ReadTimeout:     s.opts.OriginTimeout,
			WriteTimeout:    s.opts.OriginTimeout,
			MaxIdleConnDuration: min(s.opts.IdleTimeout,
				10*time.Second),
			StreamResponseBody:            true,
			DisablePathNormalizing:        true,
			DisableHeaderNamesNormalizing: false,
			NoDefaultUserAgentHeader:      true,
			// A retried POST could run twice at the origin; only idempotent
			// requests are retried, once.
			MaxIdemponentCallAttempts: 2,
		}
	}
	s.hosts = hosts
	if len(hosts) == 1 {
		return hosts[0]
	}
	lb := &fasthttp.LBClient{Timeout: s.opts.OriginTimeout}
	for _, h := range hosts {
		lb.Clients = append(lb.Clients, h)
	}
	return lb
}

// Handler returns the proxy's request handler, for serving from a custom
// fasthttp.Server or calling in-process. It recovers its own panics. Such a
// server should set NoDefaultContentType and NoDefaultServerHeader and
// enforce the limits of Options itself; Serve does all of that, and also
// bounds connections per address, bounds the bytes of one request on the
// wire and closes gracefully after refusing a request (clientListener),
// which a custom server does not get.
func (s *Server) Handler() fasthttp.RequestHandler { return s.handler }

// Serve accepts connections on ln until Shutdown; it then returns
// ErrServerClosed.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.shutdown {
		s.mu.Unlock()
		return ErrServerClosed
	}
	if s.ln != nil {
		s.mu.Unlock()
		return fmt.Errorf("%w: already serving", ErrInvalidOptions)
	}
	s.ln = ln
	s.mu.Unlock()

	err := s.srv.Serve(newClientListener(ln, s))
	s.mu.Lock()
	closed := s.shutdown
	s.mu.Unlock()
	if closed {
		return ErrServerClosed
	}
	return err
}

// ListenAndServe listens on Options.Listen and calls Serve.
func (s *Server) ListenAndServe() error {
	ln, err := net.Listen("tcp", s.opts.Listen)
	if err != nil {
		return fmt.Errorf("proxy: listen %s: %w", s.opts.Listen, err)
	}
	return s.Serve(ln)
}

// Addr returns the address being served, or nil before Serve.
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return nil
	}
	return s.ln.Addr()
}

// Shutdown stops accepting connections and waits, until ctx ends, for
// in-flight requests and the cache's background revalidations to finish.
// It is idempotent.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	if s.shutdown {
		s.mu.Unlock()
		return nil
	}
	s.shutdown = true
	ln := s.ln
	s.mu.Unlock()
	if ln == nil {
		if err := s.background.close(ctx); err != nil {
			return fmt.Errorf("proxy: shutdown: %w", err)
		}
		return nil
	}
	err := s.srv.ShutdownWithContext(ctx)
	if err == nil {
		// After the requests, which may start revalidations.
		err = s.background.close(ctx)
	}
	// Serve may not have handed ln to fasthttp yet, in which case fasthttp
	// has nothing to close; closing it here ends that Serve too.
	_ = ln.Close()
	for _, h := range s.hosts {
		h.CloseIdleConnections()
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return fmt.Errorf("proxy: shutdown: %w", err)
	}
	return err
}

// wireBudget is how many bytes one request may take on the client
// connection: its head and body at their limits, with the body's chunked
// framing allowed to double it (a body sent in 16-byte chunks costs 1.4
// times its size), and a read buffer of slack for the next pipelined head.
// Past it the request is refused: a chunk extension or chunked framing
// cannot make a request unbounded.
func (s *Server) wireBudget() int {
	return 2*s.opts.MaxHeaderBytes + 2*s.opts.MaxRequestBody + 64<<10
}

// serveParseError answers a request fasthttp could not read: too large
// head (431), body (413), slow client (408) or malformed framing (400).
func (s *Server) serveParseError(ctx *fasthttp.RequestCtx, err error) {
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("proxy: panic answering a malformed request", "panic", r)
		}
	}()
	err = classifyClient(err)
	code := writeError(ctx, err)
	// fasthttp closes the connection after this answer, perhaps with an
	// upload still arriving: close gracefully, or the client may never
	// read the answer.
	if c, ok := ctx.Conn().(*lingerConn); ok {
		c.lingerOnClose()
	}
	s.metrics.outcome(outcomeClientError)
	s.log.Debug("proxy: malformed request", "status", code, "err", err)
}

// fasthttpLogger sends fasthttp's own messages to the structured logger at
// Debug: they describe single connections.
type fasthttpLogger struct{ l *slog.Logger }

// Printf implements fasthttp.Logger.
func (f fasthttpLogger) Printf(format string, args ...any) {
	if f.l.Enabled(context.Background(), slog.LevelDebug) {
		f.l.Debug(fmt.Sprintf(format, args...))
	}
}
