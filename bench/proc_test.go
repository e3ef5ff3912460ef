package bench

import (
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

func TestProcessCPUOwnProcess(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("/proc is Linux only")
	}
	before, err := ProcessCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	// Burn CPU until the reading moves by a few ticks (bounded).
	deadline := time.Now().Add(5 * time.Second)
	x := 0
	var after CPUTime
	for time.Now().Before(deadline) {
		for i := range 1_000_000 {
			x += i
		}
		if after, err = ProcessCPU(os.Getpid()); err != nil {
			t.Fatal(err)
		}
		if after.User-before.User >= 5*clockTick {
			break
		}
	}
	_ = x
	// Spinning is the process's own code: it shows as user time.
	if moved := after.Sub(before); moved.User < 5*clockTick || moved.Sys < 0 {
		t.Fatalf("CPU time moved %+v in 5 s of spinning", moved)
	}
	tree, err := TreeCPU(os.Getpid())
	if err != nil || tree.User < after.User || tree.Sys < after.Sys {
		t.Errorf("TreeCPU = %+v, %v; want at least %+v", tree, err, after)
	}
	if sys, err := SystemCPU(); err != nil || sys < after.Total() {
		t.Errorf("SystemCPU = %v, %v; want at least this process's %v", sys, err, after)
	}
	if _, err := ProcessCPU(1 << 30); err == nil {
		t.Error("no error for a process that does not exist")
	}
}

func TestStatFields(t *testing.T) {
	line := "42 (a b) c) R 1 42 42 0 -1 4194560 100 0 0 0 250 30 0 0 20 0 1 0 1000 0 0\n"
	f, err := statFields([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	if f[0] != "R" || f[14-3] != "250" || f[15-3] != "30" {
		t.Errorf("fields %q", f)
	}
	if _, err := statFields([]byte("42 (x")); err == nil {
		t.Error("no error for a malformed line")
	}
}

// metricsHead is the start of a real marquee /metrics document: the Go
// collector's families, go_memstats_mallocs_total among them.
const metricsHead = `# HELP go_goroutines Number of goroutines that currently exist.
# TYPE go_goroutines gauge
go_goroutines 42
# HELP go_memstats_mallocs_total Total number of heap objects allocated, both live and gc-ed. Semantically a counter version for go_memstats_heap_objects gauge.
# TYPE go_memstats_mallocs_total counter
go_memstats_mallocs_total 1.234567e+06
`

// rewriteHistogram is the proxy's rewrite-duration histogram, whose _bucket,
// _sum and _count lines are no counters of the bench.
const rewriteHistogram = `# HELP marquee_proxy_rewrite_duration_seconds Time spent in the rewrite stage per page.
# TYPE marquee_proxy_rewrite_duration_seconds histogram
marquee_proxy_rewrite_duration_seconds_bucket{le="1e-05"} 3
marquee_proxy_rewrite_duration_seconds_bucket{le="2.5e-05"} 70
marquee_proxy_rewrite_duration_seconds_bucket{le="+Inf"} 90
marquee_proxy_rewrite_duration_seconds_sum 0.0021
marquee_proxy_rewrite_duration_seconds_count 90
`

func TestParseMetrics(t *testing.T) {
	const requestsHead = `# HELP marquee_proxy_requests_total Requests answered, by outcome.
# TYPE marquee_proxy_requests_total counter
`
	// A marquee admin's /metrics after a short personalized bench run.
	live, err := os.ReadFile("testdata/metrics.txt")
	if err != nil {
		t.Fatal(err)
	}
	realOutcomes := map[string]float64{
		"client_error": 0, "fail_open": 0, "internal_error": 0, "local": 0, "origin_error": 0,
		"passthrough": 0, "rewritten": 18654, "unchanged": 1058, "unslotted": 0,
	}
	tests := []struct {
		name     string
		doc      string
		mallocs  float64
		outcomes map[string]float64
		err      string // in the error; "" for none
	}{{
		name:     "a marquee admin's /metrics",
		doc:      string(live),
		mallocs:  140147,
		outcomes: realOutcomes,
	}, {
		name:     "the same with a label before outcome",
		doc:      strings.ReplaceAll(string(live), `_requests_total{outcome=`, `_requests_total{listener="main",outcome=`),
		mallocs:  140147,
		outcomes: realOutcomes,
	}, {
		name: "as the proxy writes it",
		doc: metricsHead + requestsHead + `marquee_proxy_requests_total{outcome="passthrough"} 10
marquee_proxy_requests_total{outcome="rewritten"} 90
` + rewriteHistogram,
		mallocs:  1234567,
		outcomes: map[string]float64{"passthrough": 10, "rewritten": 90},
	}, {
		name: "no HELP or TYPE lines",
		doc: `go_memstats_mallocs_total 1.234567e+06
marquee_proxy_requests_total{outcome="passthrough"} 10
marquee_proxy_requests_total{outcome="rewritten"} 90
`,
		mallocs:  1234567,
		outcomes: map[string]float64{"passthrough": 10, "rewritten": 90},
	}, {
		name: "labels in another order",
		doc: metricsHead + requestsHead + `marquee_proxy_requests_total{listener="main",outcome="passthrough"} 10
marquee_proxy_requests_total{listener="main",outcome="rewritten"} 90
`,
		mallocs:  1234567,
		outcomes: map[string]float64{"passthrough": 10, "rewritten": 90},
	}, {
		name: "an added label splits an outcome",
		doc: metricsHead + requestsHead + `marquee_proxy_requests_total{outcome="passthrough",shard="0"} 4
marquee_proxy_requests_total{outcome="rewritten",shard="0"} 40
marquee_proxy_requests_total{outcome="passthrough",shard="1"} 6
marquee_proxy_requests_total{outcome="rewritten",shard="1"} 50
`,
		mallocs:  1234567,
		outcomes: map[string]float64{"passthrough": 10, "rewritten": 90},
	}, {
		name: "histogram buckets with an outcome label",
		doc: metricsHead + `# HELP marquee_proxy_request_seconds Request latency.
# TYPE marquee_proxy_request_seconds histogram
marquee_proxy_request_seconds_bucket{outcome="rewritten",le="0.001"} 80
marquee_proxy_request_seconds_bucket{outcome="rewritten",le="+Inf"} 90
marquee_proxy_request_seconds_sum{outcome="rewritten"} 0.05
marquee_proxy_request_seconds_count{outcome="rewritten"} 90
` + requestsHead + `marquee_proxy_requests_total{outcome="rewritten"} 90
` + rewriteHistogram,
		mallocs:  1234567,
		outcomes: map[string]float64{"rewritten": 90},
	}, {
		name: "escaped label value and timestamps",
		doc: `go_memstats_mallocs_total 1.234567e+06 1700000000000
marquee_proxy_requests_total{outcome="say \"hi\""} 7 1700000000000
`,
		mallocs:  1234567,
		outcomes: map[string]float64{`say "hi"`: 7},
	}, {
		name:     "requests counter absent",
		doc:      metricsHead + rewriteHistogram,
		mallocs:  1234567,
		outcomes: map[string]float64{},
	}, {
		name: "mallocs counter absent",
		doc:  "go_goroutines 42\n",
		err:  "no go_memstats_mallocs_total",
	}, {
		name: "empty document",
		doc:  "",
		err:  "no go_memstats_mallocs_total",
	}, {
		name: "unterminated label value",
		doc: metricsHead + `marquee_proxy_requests_total{outcome="rewritten} 90
`,
		err: `line 7: label value "rewritten} 90" contains unescaped new-line`,
	}, {
		name: "value not a number",
		doc: metricsHead + `marquee_proxy_requests_total{outcome="rewritten"} 9O
`,
		err: `expected float as value, got "9O"`,
	}, {
		name: "cut off in the middle of a line",
		doc:  metricsHead + `marquee_proxy_requests_total{outcome="rewritten"} 9`,
		err:  "unexpected end of input",
	}, {
		name: "not exposition text",
		doc:  "<html><body>Not Found</body></html>\n",
		err:  "parsing error in line 1",
	}, {
		name: "series twice",
		doc: metricsHead + `marquee_proxy_requests_total{outcome="rewritten",shard="0"} 40
marquee_proxy_requests_total{shard="0",outcome="rewritten"} 50
`,
		err: `marquee_proxy_requests_total{outcome="rewritten", shard="0"} appears twice`,
	}, {
		name: "series without an outcome",
		doc: metricsHead + `marquee_proxy_requests_total{shard="0"} 40
`,
		err: "has no outcome label",
	}, {
		name: "requests counter turned histogram",
		doc: metricsHead + `# TYPE marquee_proxy_requests_total histogram
marquee_proxy_requests_total_bucket{outcome="rewritten",le="+Inf"} 90
marquee_proxy_requests_total_sum{outcome="rewritten"} 1
marquee_proxy_requests_total_count{outcome="rewritten"} 90
`,
		err: "marquee_proxy_requests_total is a HISTOGRAM, not a counter",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := parseMetrics(strings.NewReader(tt.doc), Metrics{Outcomes: map[string]float64{}})
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want one saying %q (got %+v)", err, tt.err, m)
				}
				if m.Mallocs != 0 || len(m.Outcomes) != 0 {
					t.Errorf("counters %+v read from a document in error", m)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if m.Mallocs != tt.mallocs || !maps.Equal(m.Outcomes, tt.outcomes) {
				t.Errorf("got %+v, want mallocs %v, outcomes %v", m, tt.mallocs, tt.outcomes)
			}
		})
	}
}

// TestScrapeMetrics reads what client_golang's handler serves, with the
// outcome label not first among a counter's labels.
func TestScrapeMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector())
	reqs := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "marquee_proxy_requests_total", Help: "Requests answered, by outcome.",
	}, []string{"listener", "outcome"})
	reg.MustRegister(reqs)
	reqs.WithLabelValues("a", "rewritten").Add(90)
	reqs.WithLabelValues("b", "rewritten").Add(5)
	reqs.WithLabelValues("a", "passthrough").Add(10)
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	m, err := ScrapeMetrics(t.Context(), srv.Client(), srv.URL+"/metrics")
	if err != nil {
		t.Fatal(err)
	}
	if m.Mallocs <= 0 || !maps.Equal(m.Outcomes, map[string]float64{"rewritten": 95, "passthrough": 10}) {
		t.Errorf("got %+v", m)
	}
	if _, err := ScrapeMetrics(t.Context(), srv.Client(), srv.URL+"/nothing"); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("error %v for a missing page", err)
	}
}
