//go:build !race

package personalize

import (
	"context"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/marquee-proxy/marquee/decide"
	"github.com/marquee-proxy/marquee/export"
	"github.com/marquee-proxy/marquee/proxy"
)

// TestExposeExportAllocs fails when the record stage's exposures allocate
// with an exporter on, ids raw or hashed, once the export queue has grown.
func TestExposeExportAllocs(t *testing.T) {
	for _, key := range [][]byte{nil, []byte("0123456789abcdef")} {
		p, cookies := benchPersonalizer(t)
		// The sink waits an hour: the queue only grows, as it does until
		// a running node's sink has swapped buffers a few times.
		ex, err := export.New(export.Options{HashKey: key, File: &export.FileOptions{Dir: t.TempDir(), NoSync: true, Wait: time.Hour}})
		if err != nil {
			t.Fatal(err)
		}
		p.exporter = ex
		snap := p.Snapshot()
		id := []byte(cookies[0][:VisitorIDLen])
		prof, _ := p.store.GetBytes(id)
		now := time.Now()
		d := snap.Engine.Acquire(prof, id, now)
		var choices []decide.Choice
		for _, s := range []string{"hero", "offer", "recs"} {
			ch, _ := d.Choose(s)
			choices = append(choices, ch)
		}
		var ctx fasthttp.RequestCtx
		ctx.Request.SetRequestURI("/listing?page=2")
		pg := &page{rc: proxy.NewRewriteContext(&ctx, nil, nil), snap: snap, sc: new(personalizeScratch), vid: id, id: id, prof: prof, now: now, d: d}
		record := func() { p.expose(snap, id, prof, d, choices, now, p.pageSubject(pg)) }
		for range 20000 {
			record() // grow the queue's buffers past what is measured
		}
		if n := testing.AllocsPerRun(1000, record); n != 0 {
			t.Errorf("hashed %v: %v allocations per page, want 0", key != nil, n)
		}
		d.Release()
		if err := ex.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
}
