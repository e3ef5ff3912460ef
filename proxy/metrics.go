package proxy

import (
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// outcome is how one request ended, the label of marquee_proxy_requests_total.
type outcome uint8

const (
	outcomePassthrough   outcome = iota // streamed untouched
	outcomeUnslotted                    // rewrite stage ran, page has no slots
	outcomeUnchanged                    // slotted, origin body served privately
	outcomeRewritten                    // slotted and rewritten
	outcomeFailOpen                     // rewrite stage failed, origin served
	outcomeOriginError                  // 502 or 504
	outcomeClientError                  // malformed request, 4xx
	outcomeInternalError                // proxy panic, 500
	outcomeLocal                        // answered by Options.Local
	numOutcomes
)

// String returns the metric label of o.
func (o outcome) String() string {
	switch o {
	case outcomePassthrough:
		return "passthrough"
	case outcomeUnslotted:
		return "unslotted"
	case outcomeUnchanged:
		return "unchanged"
	case outcomeRewritten:
		return "rewritten"
	case outcomeFailOpen:
		return "fail_open"
	case outcomeOriginError:
		return "origin_error"
	case outcomeClientError:
		return "client_error"
	case outcomeInternalError:
		return "internal_error"
	case outcomeLocal:
		return "local"
	default:
		return "unknown"
	}
}

// metrics holds pre-resolved collectors so the request path does no label
// lookups.
type metrics struct {
	requests        [numOutcomes]prometheus.Counter
	originTimeouts  prometheus.Counter
	originFailures  prometheus.Counter
	rewriteFailures prometheus.Counter
	rewriteDuration prometheus.Observer
	stitched        prometheus.Counter
	gatherer        prometheus.Gatherer
	collectors      []prometheus.Collector
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{}
	if reg == nil {
		r := prometheus.NewRegistry()
		reg, m.gatherer = r, r
	} else if g, ok := reg.(prometheus.Gatherer); ok {
		m.gatherer = g
	}
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "marquee", Subsystem: "proxy", Name: "requests_total",
		Help: "Requests answered, by outcome.",
	}, []string{"outcome"})
	originErrors := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "marquee", Subsystem: "proxy", Name: "origin_errors_total",
		Help: "Origin exchanges that failed, by kind: timeout (answered 504) or bad_gateway (unreachable or unusable response, answered 502).",
	}, []string{"kind"})
	rewriteFailures := prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: "marquee", Subsystem: "proxy", Name: "rewrite_failures_total",
		Help: "Rewrite stage errors and panics; each served the origin's response (fail open).",
	})
	rewriteDuration := prometheus.NewHistogram(prometheus.HistogramOpts{
		Namespace: "marquee", Subsystem: "proxy", Name: "rewrite_duration_seconds",
		Help:    "Time spent in the rewrite stage per page.",
		Buckets: prometheus.ExponentialBuckets(10e-6, 2.5, 10), // 10 µs … ~38 ms
	})
	stitched := prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: "marquee", Subsystem: "proxy", Name: "gzip_stitched_total",
		Help: "Rewritten pages sent as gzip stitched from parts compressed once (RewriteContext.Splice) instead of compressed per request.",
	})
	collectors := []prometheus.Collector{requests, originErrors, rewriteFailures, rewriteDuration, stitched}
	for i, c := range collectors {
		if err := reg.Register(c); err != nil {
			// Leave the registry as it was.
			for _, done := range collectors[:i] {
				reg.Unregister(done)
			}
			var are prometheus.AlreadyRegisteredError
			if errors.As(err, &are) {
				return nil, fmt.Errorf("%w: metrics already registered: %w", ErrInvalidOptions, err)
			}
			return nil, fmt.Errorf("proxy: register metrics: %w", err)
		}
	}
	m.collectors = collectors
	for o := range numOutcomes {
		m.requests[o] = requests.WithLabelValues(o.String())
	}
	m.originTimeouts = originErrors.WithLabelValues("timeout")
	m.originFailures = originErrors.WithLabelValues("bad_gateway")
	m.rewriteFailures = rewriteFailures
	m.rewriteDuration = rewriteDuration
	m.stitched = stitched
	return m, nil
}

// unregister takes the collectors back from reg, after a failure later in
// New.
func (m *metrics) unregister(reg prometheus.Registerer) {
	if reg == nil {
		return
	}
	for _, c := range m.collectors {
		reg.Unregister(c)
	}
}

func (m *metrics) outcome(o outcome) { m.requests[o].Inc() }

func (m *metrics) observeRewrite(d time.Duration) { m.rewriteDuration.Observe(d.Seconds()) }

// Gatherer returns the registry holding the proxy's metrics when New created
// it (Options.Registry nil) or when Options.Registry also gathers; nil
// otherwise.
func (s *Server) Gatherer() prometheus.Gatherer { return s.metrics.gatherer }
