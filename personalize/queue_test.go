package personalize

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/marquee-proxy/marquee/config"
	"github.com/marquee-proxy/marquee/internal/background"
	"github.com/marquee-proxy/marquee/profile"
	msync "github.com/marquee-proxy/marquee/sync"
)

// queuePanics reads marquee_background_panics_total for the queue's
// workers, as a scrape of the node's registry would. The counter is the
// process's: tests compare it before and after.
func queuePanics(t *testing.T) float64 {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(background.Collector()); err != nil {
		t.Fatal(err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "loop" && l.GetValue() == queueLoop {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

// waitPromptly waits for id's writes and fails when that took anywhere
// near the read-your-writes budget: a job left unmarked would cost it all.
func waitPromptly(t *testing.T, tr *Tracker, id []byte) {
	t.Helper()
	start := time.Now()
	tr.Wait(id)
	if el := time.Since(start); el >= readYourWritesMax/2 {
		t.Fatalf("Wait took %v; the panicked job was not marked done", el)
	}
}

// A queued update that panics is dropped and counted; the worker lives on,
// the visitor's wait returns at once, and the visitor's later updates,
// changes and observations alike, are applied.
func TestQueueSurvivesPanickingUpdate(t *testing.T) {
	tr, st := newTestTracker(t, TrackerOptions{Workers: 1, WaitBudget: time.Second})
	q := tr.queue
	vid := []byte("AAAAAAAAAAAAAAAAAAAAAA")
	panics, failed := queuePanics(t), testutil.ToFloat64(q.failed)
	setTier := func(tier string) ProfileFunc {
		return func(p *profile.Profile) error {
			p.Attrs = map[string]any{"tier": tier}
			return nil
		}
	}

	q.update(string(vid), func(*profile.Profile) error { panic("bad update") }, nil)
	waitPromptly(t, tr, vid)

	// In one batch: a panic between two good writes costs only itself.
	q.update(string(vid), setTier("silver"), nil)
	q.update(string(vid), func(*profile.Profile) error { panic("bad update") }, nil)
	tr.enqueue(&jobFields{visitor: vid, event: true, typ: msync.EventView, category: []byte("shoes")})
	afterRan := make(chan struct{})
	q.update(string(vid), setTier("gold"), func() { close(afterRan) })
	waitPromptly(t, tr, vid)

	select {
	case <-afterRan:
	default:
		t.Error("the later update's after did not run")
	}
	p, err := st.GetBytes(vid)
	if err != nil || p == nil {
		t.Fatalf("profile: %v %v", p, err)
	}
	if p.Attrs["tier"] != "gold" {
		t.Errorf("tier %v, want the later update's gold", p.Attrs["tier"])
	}
	if v := p.Views["shoes"]; len(v) == 0 || v[0].Count != 1 {
		t.Errorf("views %v, want the observed view of shoes", p.Views)
	}
	if n := queuePanics(t) - panics; n != 2 {
		t.Errorf("marquee_background_panics_total{loop=%q} grew by %v, want 2", queueLoop, n)
	}
	if n := testutil.ToFloat64(q.failed) - failed; n != 2 {
		t.Errorf("failed updates grew by %v, want 2", n)
	}
}

// The Personalizer and the Tracker share the node's one queue, so one wait
// covers a visitor's observed views and the proxy's own writes alike.
func TestPersonalizerSharesTrackerQueue(t *testing.T) {
	tr, st := newTestTracker(t, TrackerOptions{})
	snap := testSnapshot(t)
	p, err := New(Options{Snapshot: snap, Store: st, Keys: [][]byte{[]byte("key-one-0123456789abcdef")}, Tracker: tr, Registry: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	if p.queue != tr.queue {
		t.Fatal("the Personalizer started a queue of its own")
	}
	vid := []byte("AAAAAAAAAAAAAAAAAAAAAA")
	for i := range 20 {
		tr.enqueue(&jobFields{visitor: vid, event: true, typ: msync.EventView, category: []byte("x")})
		p.queue.update(string(vid), func(pr *profile.Profile) error {
			pr.Attrs = map[string]any{"n": float64(i)}
			return nil
		}, nil)
		p.Wait(vid)
		pr, _ := st.GetBytes(vid)
		if pr == nil || pr.Views["x"][0].Count != int32(i+1) || pr.Attrs["n"] != float64(i) {
			t.Fatalf("after round %d and Wait: %+v", i, pr)
		}
	}
}

// testSnapshot compiles a configuration with no campaigns.
func testSnapshot(t *testing.T) *Snapshot {
	t.Helper()
	cfg, err := config.Parse("test.yaml", []byte("origin: http://127.0.0.1:1\n"))
	if err != nil {
		t.Fatal(err)
	}
	snap, err := Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return snap
}

// A store write of observed events that panics (here: no store at all) is
// counted and its batch still marked done; the worker goes on with the
// next batch.
func TestQueueSurvivesPanickingStoreWrite(t *testing.T) {
	tr, st := newTestTracker(t, TrackerOptions{Workers: 1, WaitBudget: time.Second})
	q := tr.queue
	vid := []byte("AAAAAAAAAAAAAAAAAAAAAA")
	panics := queuePanics(t)
	view := &jobFields{visitor: vid, event: true, typ: msync.EventView, category: []byte("x")}

	q.store = nil // safe: no job is queued, and Wait orders the worker's reads
	tr.enqueue(view)
	waitPromptly(t, tr, vid)
	if n := queuePanics(t) - panics; n != 1 {
		t.Errorf("marquee_background_panics_total{loop=%q} grew by %v, want 1", queueLoop, n)
	}

	q.store = st
	tr.enqueue(view)
	waitPromptly(t, tr, vid)
	if p, _ := st.GetBytes(vid); p == nil || p.Views["x"][0].Count != 1 {
		t.Errorf("the view after the panic was not applied: %+v", p)
	}
}
