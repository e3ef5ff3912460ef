package proxy

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// counterValue reads a counter without the testutil package.
func counterValue(t testing.TB, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

func TestOutcomeString(t *testing.T) {
	seen := map[string]bool{}
	for o := range numOutcomes {
		s := o.String()
		if s == "unknown" || seen[s] {
			t.Errorf("outcome %d has label %q", o, s)
		}
		seen[s] = true
	}
	if got := outcome(200).String(); got != "unknown" {
		t.Errorf("got %q, want %q", got, "unknown")
	}
}

func TestMetricsGathered(t *testing.T) {
	s, err := New(Options{Origins: []string{"http://127.0.0.1:1"}})
	if err != nil {
		t.Fatal(err)
	}
	s.metrics.outcome(outcomeRewritten)
	s.metrics.rewriteFailures.Inc()
	mfs, err := s.Gatherer().Gather()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, mf := range mfs {
		names = append(names, mf.GetName())
	}
	got := strings.Join(names, " ")
	for _, want := range []string{"marquee_proxy_requests_total", "marquee_proxy_rewrite_failures_total", "marquee_proxy_origin_errors_total", "marquee_proxy_rewrite_duration_seconds"} {
		if !strings.Contains(got, want) {
			t.Errorf("metric %s missing from %s", want, got)
		}
	}
}
