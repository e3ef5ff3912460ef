package personalize

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"

	"github.com/marquee-proxy/marquee/decide"
	"github.com/marquee-proxy/marquee/export"
	"github.com/marquee-proxy/marquee/proxy"
)

// BenchmarkRecordExposures times the record stage's exposures of a page
// with three filled slots: counted by the stats recorder alone (the
// baseline, what every page paid before the export) and also exported,
// ids raw and hashed. The exporter's file sink writes on its own
// goroutine, without fsync, and shares the two cores: at this pace (a
// million pages a second) it falls behind and the queue drops, reported
// as dropped/op. The recording's own cost, with a sink that keeps up, is
// export's BenchmarkRecordPage.
func BenchmarkRecordExposures(b *testing.B) {
	p, cookies := benchPersonalizer(b)
	snap := p.Snapshot()
	id := []byte(cookies[0][:VisitorIDLen])
	prof, _ := p.store.GetBytes(id)
	now := time.Now()
	d := snap.Engine.Acquire(prof, id, now)
	defer d.Release()
	var choices []decide.Choice
	for _, s := range []string{"hero", "offer", "recs"} {
		ch, ok := d.Choose(s)
		if !ok {
			b.Fatalf("no campaign for %s", s)
		}
		choices = append(choices, ch)
	}
	var ctx fasthttp.RequestCtx
	ctx.Request.SetRequestURI("/listing?page=2")
	pg := &page{rc: proxy.NewRewriteContext(&ctx, nil, nil), snap: snap, sc: new(personalizeScratch), vid: id, id: id, prof: prof, now: now, d: d}

	var reg *prometheus.Registry
	for _, bc := range []struct {
		name string
		opts *export.Options
	}{
		{"baseline-stats-only", nil},
		{"exported-raw-ids", &export.Options{}},
		{"exported-hmac-ids", &export.Options{HashKey: []byte("0123456789abcdef")}},
	} {
		p.exporter = nil
		if bc.opts != nil {
			bc.opts.File = &export.FileOptions{Dir: b.TempDir(), NoSync: true, Wait: 100 * time.Millisecond}
			reg = prometheus.NewRegistry()
			bc.opts.Registry = reg
			ex, err := export.New(*bc.opts)
			if err != nil {
				b.Fatal(err)
			}
			defer ex.Shutdown(context.Background())
			p.exporter = ex
		}
		b.Run(bc.name, func(b *testing.B) {
			before := 0
			if p.exporter != nil {
				before = dropped(b, reg)
			}
			b.ReportAllocs()
			for b.Loop() {
				p.expose(snap, id, prof, d, choices, now, p.pageSubject(pg))
			}
			if p.exporter != nil {
				// A full queue drops, which costs less than queueing: a
				// run that dropped is no measure.
				if n := dropped(b, reg) - before; n > 0 {
					b.ReportMetric(float64(n)/float64(b.N), "dropped/op")
				}
			}
		})
	}
	p.exporter = nil
}

// dropped reads marquee_export_dropped_total from reg.
func dropped(b *testing.B, reg *prometheus.Registry) int {
	mfs, err := reg.Gather()
	if err != nil {
		b.Fatal(err)
	}
	n := 0
	for _, mf := range mfs {
		if mf.GetName() == "marquee_export_dropped_total" {
			for _, m := range mf.GetMetric() {
				n += int(m.GetCounter().GetValue())
			}
		}
	}
	return n
}
