package admin

import (
	"errors"
	"math"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	msync "github.com/marquee-proxy/marquee/sync"
)

// counters is what a fake gatherer reports at one sample.
type counters struct {
	outcomes            map[string]float64
	buckets             []bucket // cumulative, +Inf last: its count is the sample count
	hits, stale, misses float64
	noCache             bool
}

func (c counters) families() []*dto.MetricFamily {
	var fams []*dto.MetricFamily
	req := &dto.MetricFamily{Name: ref(metricRequests), Type: dto.MetricType_COUNTER.Enum()}
	for o, v := range c.outcomes {
		req.Metric = append(req.Metric, &dto.Metric{
			Label:   []*dto.LabelPair{{Name: ref("outcome"), Value: ref(o)}},
			Counter: &dto.Counter{Value: ref(v)},
		})
	}
	fams = append(fams, req)
	if len(c.buckets) > 0 {
		h := &dto.Histogram{SampleCount: ref(uint64(c.buckets[len(c.buckets)-1].count))}
		for _, b := range c.buckets[:len(c.buckets)-1] {
			h.Bucket = append(h.Bucket, &dto.Bucket{UpperBound: ref(b.le), CumulativeCount: ref(uint64(b.count))})
		}
		fams = append(fams, &dto.MetricFamily{Name: ref(metricRewriteSeconds), Type: dto.MetricType_HISTOGRAM.Enum(), Metric: []*dto.Metric{{Histogram: h}}})
	}
	if !c.noCache {
		for name, v := range map[string]float64{metricCacheHits: c.hits, metricCacheStale: c.stale, metricCacheMisses: c.misses} {
			fams = append(fams, &dto.MetricFamily{Name: ref(name), Type: dto.MetricType_COUNTER.Enum(),
				Metric: []*dto.Metric{{Counter: &dto.Counter{Value: ref(v)}}}})
		}
	}
	return fams
}

// fakeGatherer reports steps in turn, or err.
type fakeGatherer struct {
	steps []counters
	err   error
}

func (g *fakeGatherer) Gather() ([]*dto.MetricFamily, error) {
	if g.err != nil {
		return nil, g.err
	}
	s := g.steps[0]
	g.steps = g.steps[1:]
	return s.families(), nil
}

func ptr(f float64) *float64 { return &f }

// ref returns a pointer to v, as the protobuf structs want.
func ref[T any](v T) *T { return &v }

func TestMetricsHistorySample(t *testing.T) {
	inf := math.Inf(1)
	base := counters{
		outcomes: map[string]float64{"rewritten": 100, "passthrough": 50},
		buckets:  []bucket{{0.001, 10}, {0.002, 20}, {0.004, 30}, {inf, 30}},
		hits:     10, stale: 0, misses: 10,
	}
	tests := []struct {
		name string
		next counters
		want HistoryPoint
	}{
		{
			name: "rates, quantiles and hit ratio over the interval",
			next: counters{
				outcomes: map[string]float64{"rewritten": 115, "passthrough": 55, "local": 2},
				// 10 more pages: all between 1 and 2 ms.
				buckets: []bucket{{0.001, 10}, {0.002, 30}, {0.004, 40}, {inf, 40}},
				hits:    13, stale: 1, misses: 14,
			},
			want: HistoryPoint{RPS: map[string]float64{"rewritten": 1.5, "passthrough": 0.5, "local": 0.2},
				P50Ms: ptr(1.5), P99Ms: ptr(1.99), CacheHitRatio: ptr(0.5)},
		},
		{
			name: "no traffic: zero rates, no quantiles, no ratio",
			next: base,
			want: HistoryPoint{RPS: map[string]float64{"rewritten": 0, "passthrough": 0}},
		},
		{
			name: "pages beyond the last bound report it",
			next: counters{outcomes: base.outcomes, buckets: []bucket{{0.001, 10}, {0.002, 20}, {0.004, 30}, {inf, 40}}, hits: 10, misses: 10},
			want: HistoryPoint{RPS: map[string]float64{"rewritten": 0, "passthrough": 0}, P50Ms: ptr(4), P99Ms: ptr(4)},
		},
		{
			name: "a reset counter has no rate",
			next: counters{outcomes: map[string]float64{"rewritten": 3, "passthrough": 60}, buckets: []bucket{{0.001, 1}, {0.002, 1}, {0.004, 1}, {inf, 1}}, hits: 1, misses: 1},
			want: HistoryPoint{RPS: map[string]float64{"passthrough": 1}},
		},
		{
			name: "cache off",
			next: counters{outcomes: base.outcomes, buckets: base.buckets, noCache: true},
			want: HistoryPoint{RPS: map[string]float64{"rewritten": 0, "passthrough": 0}},
		},
	}
	t0 := time.Unix(1_800_000_000, 0)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := NewMetricsHistory(&fakeGatherer{steps: []counters{base, tt.next}}, 0, 0)
			if err := h.Sample(t0); err != nil {
				t.Fatal(err)
			}
			if got := h.Points(); len(got) != 0 {
				t.Fatalf("first sample made points: %+v", got)
			}
			if err := h.Sample(t0.Add(10 * time.Second)); err != nil {
				t.Fatal(err)
			}
			got := h.Points()
			if len(got) != 1 {
				t.Fatalf("%d points, want 1", len(got))
			}
			p := got[0]
			if p.T != t0.Unix()+10 {
				t.Errorf("t %d, want %d", p.T, t0.Unix()+10)
			}
			if len(p.RPS) != len(tt.want.RPS) {
				t.Errorf("rps %v, want %v", p.RPS, tt.want.RPS)
			}
			for o, v := range tt.want.RPS {
				if g, ok := p.RPS[o]; !ok || math.Abs(g-v) > 1e-9 {
					t.Errorf("rps[%s] = %v, want %v", o, g, v)
				}
			}
			for _, f := range []struct {
				name      string
				got, want *float64
			}{{"p50_ms", p.P50Ms, tt.want.P50Ms}, {"p99_ms", p.P99Ms, tt.want.P99Ms}, {"cache_hit_ratio", p.CacheHitRatio, tt.want.CacheHitRatio}} {
				switch {
				case (f.got == nil) != (f.want == nil):
					t.Errorf("%s: got %v, want %v", f.name, f.got, f.want)
				case f.got != nil && math.Abs(*f.got-*f.want) > 1e-9:
					t.Errorf("%s: got %v, want %v", f.name, *f.got, *f.want)
				}
			}
		})
	}
}

func TestMetricsHistoryRing(t *testing.T) {
	var steps []counters
	for i := range 6 {
		steps = append(steps, counters{outcomes: map[string]float64{"rewritten": float64(i * i)}})
	}
	h := NewMetricsHistory(&fakeGatherer{steps: steps}, time.Second, 3)
	t0 := time.Unix(1_800_000_000, 0)
	for i := range 6 {
		if err := h.Sample(t0.Add(time.Duration(i) * time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	got := h.Points()
	// Five points were made; the ring keeps the newest three, oldest
	// first: the rates 5, 7 and 9 of the steps to 3, 4 and 5.
	if len(got) != 3 {
		t.Fatalf("%d points, want 3", len(got))
	}
	for i, p := range got {
		if want := float64(2*(i+3) - 1); p.RPS["rewritten"] != want || p.T != t0.Unix()+int64(i+3) {
			t.Errorf("point %d: t %d rps %v, want t %d rps %v", i, p.T, p.RPS["rewritten"], t0.Unix()+int64(i+3), want)
		}
	}
}

func TestMetricsHistoryGatherError(t *testing.T) {
	g := &fakeGatherer{steps: []counters{{outcomes: map[string]float64{"rewritten": 1}}}}
	h := NewMetricsHistory(g, 0, 0)
	t0 := time.Unix(1_800_000_000, 0)
	if err := h.Sample(t0); err != nil {
		t.Fatal(err)
	}
	g.err = errors.New("collector broke")
	if err := h.Sample(t0.Add(time.Second)); err == nil {
		t.Fatal("no error from a failed gather")
	}
	// The baseline is kept: the next good sample rates against it.
	g.err = nil
	g.steps = []counters{{outcomes: map[string]float64{"rewritten": 21}}}
	if err := h.Sample(t0.Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if got := h.Points(); len(got) != 1 || got[0].RPS["rewritten"] != 2 {
		t.Errorf("points %+v, want one at 2/s", got)
	}
}

// TestMetricsHistoryStart runs the sampler on a real registry until it has
// points, then stops it: stop waits for the goroutine and may be repeated.
func TestMetricsHistoryStart(t *testing.T) {
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: metricRequests, Help: "h"}, []string{"outcome"})
	reg.MustRegister(c)
	c.WithLabelValues("rewritten").Add(5)
	h := NewMetricsHistory(reg, time.Millisecond, 10)
	stop := h.Start(nil)
	deadline := time.Now().Add(10 * time.Second)
	for len(h.Points()) < 2 {
		if time.Now().After(deadline) {
			t.Fatal("no points within 10 s")
		}
		c.WithLabelValues("rewritten").Inc()
		time.Sleep(time.Millisecond)
	}
	stop()
	n := len(h.Points())
	time.Sleep(20 * time.Millisecond)
	if m := len(h.Points()); m != n {
		t.Errorf("sampling went on after stop: %d points, then %d", n, m)
	}
	stop()
}

func TestMetricsHistoryRoute(t *testing.T) {
	const token = "s3cret"
	h := NewMetricsHistory(&fakeGatherer{steps: []counters{
		{outcomes: map[string]float64{"rewritten": 0}},
		{outcomes: map[string]float64{"rewritten": 30}},
	}}, 0, 0)
	t0 := time.Unix(1_800_000_000, 0)
	_ = h.Sample(t0)
	_ = h.Sample(t0.Add(10 * time.Second))
	with, _ := newAdminNode(t, msync.Options{}, Options{Token: token, History: h})
	without, _ := newAdminNode(t, msync.Options{}, Options{Token: token})
	tests := []struct {
		name   string
		srv    *httptest.Server
		token  string
		status int
	}{
		{"served", with, token, 200},
		{"needs the token", with, "", 401},
		{"absent without a history", without, token, 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := call(t, tt.srv, "GET", "/v1/metrics/history", tt.token, "")
			if status != tt.status {
				t.Fatalf("status %d, want %d: %v", status, tt.status, body)
			}
			if status != 200 {
				return
			}
			pts, _ := body["points"].([]any)
			if body["interval_s"] != 10.0 || len(pts) != 1 {
				t.Fatalf("body %v", body)
			}
			p := pts[0].(map[string]any)
			if p["t"] != float64(t0.Unix()+10) || p["rps"].(map[string]any)["rewritten"] != 3.0 {
				t.Errorf("point %v", p)
			}
			if _, ok := p["p50_ms"]; ok {
				t.Errorf("p50_ms present without a histogram: %v", p)
			}
		})
	}
}
