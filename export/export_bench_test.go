package export

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"log/slog"
	"testing"
	"time"

	"github.com/marquee-proxy/marquee/decide/stats"
)

// BenchmarkRecordPage times what the record stage adds per personalised
// page: one SetSubject and three exposures, with ids raw and hashed,
// against the stats recorder's three Expose calls that every page already
// makes. Records go to a sink that acknowledges them at once: what a real
// sink costs is spent on its own goroutine, and a disk at a million
// records a second would fall behind and drop, which is cheaper than
// queueing. One goroutine records, so that the sink's has the other core.
func BenchmarkRecordPage(b *testing.B) {
	vid, cust, url := []byte("AbCdEfGhIjKlMnOpQrStUv"), []byte("cust-42"), []byte("/listing?page=2")
	b.Run("baseline-stats-recorder", func(b *testing.B) {
		r := stats.NewRecorder(stats.Config{})
		r.Register("hero", []stats.VariantSpec{{Name: "b", Weight: 1}})
		b.ReportAllocs()
		for b.Loop() {
			for range 3 {
				r.Expose("hero", "b", vid)
			}
		}
	})
	for _, bc := range []struct {
		name string
		key  []byte
	}{{"raw-ids", nil}, {"hmac-ids", []byte("0123456789abcdef")}} {
		// One exporter for every round of the sub-benchmark, so that its
		// queues have grown as on a running node.
		e := newDiscardExporter(b, bc.key)
		b.Run(bc.name, func(b *testing.B) {
			dropped := count(e.m.dropped, "discard")
			b.ReportAllocs()
			var s Subject
			for b.Loop() {
				e.SetSubject(&s, vid, cust, url, time.Now())
				for range 3 {
					e.Exposure(&s, "hero", "hero-test", "b")
				}
			}
			b.ReportMetric(float64(count(e.m.dropped, "discard")-dropped)/float64(b.N), "dropped/op")
		})
		if err := e.Shutdown(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}

// discard is an output that acknowledges every record at once.
type discard struct{}

func (discard) policy() policy { return policy{name: "discard", wait: time.Millisecond} }
func (discard) send(_ context.Context, b *batch, from int) (int, error) {
	return len(b.recs) - from, nil
}
func (discard) close() error { return nil }

// newDiscardExporter returns a started Exporter whose one sink discards.
func newDiscardExporter(b *testing.B, key []byte) *Exporter {
	opts := Options{HashKey: key, Queue: DefaultQueue}
	e := &Exporter{now: time.Now, log: slog.New(slog.DiscardHandler), stop: make(chan struct{}), m: newMetrics()}
	e.ctx, e.cancel = context.WithCancel(context.Background())
	e.prefix, e.node = []byte(`{"event_id":"bench-0-`), []byte(`,"node":"bench"}`+"\n")
	if key != nil {
		e.hashes.New = func() any { return &hasher{h: hmac.New(sha256.New, key)} }
	}
	e.lines.New = func() any { b := make([]byte, 0, 512); return &b }
	if err := e.start([]output{discard{}}, opts); err != nil {
		b.Fatal(err)
	}
	return e
}
