package admin

import (
	"log/slog"
	"math"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/marquee-proxy/marquee/internal/background"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// Defaults of the metrics history: an hour at ten seconds.
const (
	DefaultHistoryInterval = 10 * time.Second
	DefaultHistoryPoints   = 360
)

// The series the history samples, as the proxy and the edge cache name
// them.
const (
	metricRequests       = "marquee_proxy_requests_total"
	metricRewriteSeconds = "marquee_proxy_rewrite_duration_seconds"
	metricCacheHits      = "marquee_cache_hits_total"
	metricCacheStale     = "marquee_cache_stale_total"
	metricCacheMisses    = "marquee_cache_misses_total"
)

// MetricsHistory keeps the node's recent traffic as rates per sampling
// interval, so the console's charts have a history when the page opens
// rather than only from then on. It reads a Prometheus gatherer (the same
// one /metrics serves) and keeps a fixed number of points in memory, a few
// tens of kilobytes. Its methods may be called concurrently.
type MetricsHistory struct {
	g        prometheus.Gatherer
	interval time.Duration

	mu sync.Mutex
	// points is a ring of at most cap(points) points, oldest at next once
	// full.
	points []HistoryPoint
	next   int
	// last holds the counters of the previous sample, nil before the
	// first: rates need two.
	last *counterSample
}

// HistoryPoint is the traffic of one sampling interval, ending at T. A
// value that cannot be computed (no page rewritten, no cacheable request,
// a counter reset by a restart) is left out.
type HistoryPoint struct {
	// T is the end of the interval, Unix seconds.
	T int64 `json:"t"`
	// RPS is requests per second by proxy outcome (rewritten,
	// passthrough, …).
	RPS map[string]float64 `json:"rps"`
	// P50Ms and P99Ms estimate the rewrite stage's median and 99th
	// percentile in milliseconds, from the histogram's buckets as
	// Prometheus' histogram_quantile does.
	P50Ms *float64 `json:"p50_ms,omitempty"`
	P99Ms *float64 `json:"p99_ms,omitempty"`
	// CacheHitRatio is the share of cacheable requests answered from the
	// edge cache, fresh or stale.
	CacheHitRatio *float64 `json:"cache_hit_ratio,omitempty"`
}

// counterSample is the cumulative counters at one instant.
type counterSample struct {
	at       time.Time
	outcomes map[string]float64
	// buckets are the rewrite histogram's cumulative counts by upper
	// bound, ascending, +Inf last.
	buckets                []bucket
	hits, stale, misses    float64
	hasCache, hasHistogram bool
}

type bucket struct{ le, count float64 }

// NewMetricsHistory returns a history of g sampled every interval and
// keeping points of them; zero values take DefaultHistoryInterval and
// DefaultHistoryPoints. Nothing is sampled until Start or Sample.
func NewMetricsHistory(g prometheus.Gatherer, interval time.Duration, points int) *MetricsHistory {
	if interval <= 0 {
		interval = DefaultHistoryInterval
	}
	if points <= 0 {
		points = DefaultHistoryPoints
	}
	return &MetricsHistory{g: g, interval: interval, points: make([]HistoryPoint, 0, points)}
}

// Start samples every interval in a goroutine until the returned stop is
// called; stop waits for the goroutine to end and may be called more than
// once. A panic in a sample is recovered and logged (log nil: the default
// logger) and sampling goes on.
func (h *MetricsHistory) Start(log *slog.Logger) (stop func()) {
	done := make(chan struct{})
	quit := make(chan struct{})
	go func() {
		defer close(done)
		background.Run(log, "metrics-history", quit, func() {
			t := time.NewTicker(h.interval)
			defer t.Stop()
			for {
				select {
				case <-quit:
					return
				case now := <-t.C:
					if err := h.Sample(now); err != nil && log != nil {
						log.Warn("admin: sampling the metrics history", "err", err)
					}
				}
			}
		})
	}()
	var once sync.Once
	return func() {
		once.Do(func() { close(quit) })
		<-done
	}
}

// Sample reads the gatherer once, as of now, and adds the point since the
// previous sample. The first sample only sets the baseline. A gather error
// leaves the history as it was.
func (h *MetricsHistory) Sample(now time.Time) error {
	fams, err := h.g.Gather()
	if err != nil {
		return err
	}
	cur := readCounters(fams, now)
	h.mu.Lock()
	defer h.mu.Unlock()
	prev := h.last
	h.last = cur
	if prev == nil {
		return nil
	}
	dt := cur.at.Sub(prev.at).Seconds()
	if dt <= 0 {
		return nil
	}
	p := HistoryPoint{T: now.Unix(), RPS: map[string]float64{}}
	for o, v := range cur.outcomes {
		// A counter that went down was reset by a restart of its owner:
		// no rate for that step.
		if d := v - prev.outcomes[o]; d >= 0 {
			p.RPS[o] = d / dt
		}
	}
	if cur.hasHistogram && prev.hasHistogram && len(cur.buckets) == len(prev.buckets) {
		delta := make([]bucket, len(cur.buckets))
		ok := true
		for i, b := range cur.buckets {
			delta[i] = bucket{b.le, b.count - prev.buckets[i].count}
			ok = ok && b.le == prev.buckets[i].le && delta[i].count >= 0
		}
		if ok {
			p.P50Ms = msOf(quantile(0.5, delta))
			p.P99Ms = msOf(quantile(0.99, delta))
		}
	}
	if cur.hasCache && prev.hasCache {
		served := (cur.hits + cur.stale) - (prev.hits + prev.stale)
		all := served + cur.misses - prev.misses
		if served >= 0 && all > 0 && cur.misses >= prev.misses {
			r := served / all
			p.CacheHitRatio = &r
		}
	}
	if len(h.points) < cap(h.points) {
		h.points = append(h.points, p)
	} else {
		h.points[h.next] = p
		h.next = (h.next + 1) % len(h.points)
	}
	return nil
}

// Points returns the kept points, oldest first.
func (h *MetricsHistory) Points() []HistoryPoint {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]HistoryPoint, 0, len(h.points))
	out = append(out, h.points[h.next:]...)
	return append(out, h.points[:h.next]...)
}

// readCounters sums the sampled series of fams.
func readCounters(fams []*dto.MetricFamily, at time.Time) *counterSample {
	s := &counterSample{at: at, outcomes: map[string]float64{}}
	les := map[float64]float64{}
	for _, f := range fams {
		for _, m := range f.GetMetric() {
			switch f.GetName() {
			case metricRequests:
				s.outcomes[label(m, "outcome")] += m.GetCounter().GetValue()
			case metricRewriteSeconds:
				hist := m.GetHistogram()
				if hist == nil {
					continue
				}
				s.hasHistogram = true
				for _, b := range hist.GetBucket() {
					les[b.GetUpperBound()] += float64(b.GetCumulativeCount())
				}
				les[math.Inf(1)] += float64(hist.GetSampleCount())
			case metricCacheHits:
				s.hits += m.GetCounter().GetValue()
				s.hasCache = true
			case metricCacheStale:
				s.stale += m.GetCounter().GetValue()
			case metricCacheMisses:
				s.misses += m.GetCounter().GetValue()
			}
		}
	}
	for le, c := range les {
		s.buckets = append(s.buckets, bucket{le, c})
	}
	sort.Slice(s.buckets, func(i, j int) bool { return s.buckets[i].le < s.buckets[j].le })
	return s
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// quantile estimates the q-quantile of cumulative buckets by linear
// interpolation inside the bucket holding it, as histogram_quantile does;
// one in the +Inf bucket is reported as the highest finite bound. ok is
// false with no observations.
func quantile(q float64, buckets []bucket) (v float64, ok bool) {
	if len(buckets) == 0 {
		return 0, false
	}
	total := buckets[len(buckets)-1].count
	if total <= 0 {
		return 0, false
	}
	rank := q * total
	lo, below := 0.0, 0.0
	for _, b := range buckets {
		if b.count >= rank {
			if math.IsInf(b.le, 1) {
				return lo, true
			}
			if b.count == below {
				return lo, true
			}
			return lo + (b.le-lo)*(rank-below)/(b.count-below), true
		}
		lo, below = b.le, b.count
	}
	return lo, true
}

func msOf(v float64, ok bool) *float64 {
	if !ok {
		return nil
	}
	ms := v * 1000
	return &ms
}

// getMetricsHistory answers GET /v1/metrics/history.
func (a *admin) getMetricsHistory(w http.ResponseWriter, r *http.Request) error {
	h := a.opts.History
	writeJSON(w, http.StatusOK, map[string]any{"interval_s": h.interval.Seconds(), "points": h.Points()})
	return nil
}
