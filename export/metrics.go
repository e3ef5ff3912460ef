package export

import "github.com/prometheus/client_golang/prometheus"

// metrics are the Exporter's counters, labelled by sink.
type metrics struct {
	records, dropped, failed, retries *prometheus.CounterVec
}

func newMetrics() metrics {
	vec := func(name, help string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "marquee", Subsystem: "export", Name: name, Help: help}, []string{"sink"})
	}
	return metrics{
		records: vec("records_total", "Records the sink acknowledged (a record sent again after a failed attempt counts once per acknowledgement)."),
		dropped: vec("dropped_total", "Records not queued because the sink's queue was full or the exporter shut down."),
		failed:  vec("failed_total", "Queued records given up: refused by the sink for good, or still unacknowledged at the shutdown deadline."),
		retries: vec("retries_total", "Delivery attempts that failed and were retried."),
	}
}

func (m metrics) register(r prometheus.Registerer) error {
	for _, c := range []prometheus.Collector{m.records, m.dropped, m.failed, m.retries} {
		if err := r.Register(c); err != nil {
			return err
		}
	}
	return nil
}
