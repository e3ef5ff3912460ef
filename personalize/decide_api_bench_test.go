package personalize

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"

	"github.com/marquee-proxy/marquee/export"
)

// BenchmarkDecideSlotsExported times a /_marquee/decide call's decision
// of three slots with its exposures exported, the page named by a full
// url parameter. The file sink shares the cores and may fall behind, as
// in BenchmarkRecordExposures; dropped/op reports it.
func BenchmarkDecideSlotsExported(b *testing.B) {
	p, cookies := benchPersonalizer(b)
	reg := prometheus.NewRegistry()
	ex, err := export.New(export.Options{
		File:     &export.FileOptions{Dir: b.TempDir(), NoSync: true, Wait: 100 * time.Millisecond},
		Registry: reg,
	})
	if err != nil {
		b.Fatal(err)
	}
	defer ex.Shutdown(context.Background())
	p.exporter = ex
	defer func() { p.exporter = nil }()
	snap := p.Snapshot()
	id := []byte(cookies[0][:VisitorIDLen])
	var ctx fasthttp.RequestCtx
	ctx.Request.SetRequestURI("/_marquee/decide?slots=hero,offer,recs&url=https%3A%2F%2Fshop.example%2Fc%2Fshoes%3Fpage%3D2")
	slots := []string{"hero", "offer", "recs"}
	res := make(map[string]*SlotDecision, len(slots))
	before := dropped(b, reg)
	b.ReportAllocs()
	for b.Loop() {
		clear(res)
		if err := p.decideSlots(&ctx, snap, id, subjectIDs{visitor: id}, slots, res); err != nil {
			b.Fatal(err)
		}
	}
	if len(res) != len(slots) {
		b.Fatalf("decided %d slots, want %d", len(res), len(slots))
	}
	if n := dropped(b, reg) - before; n > 0 {
		b.ReportMetric(float64(n)/float64(b.N), "dropped/op")
	}
}
