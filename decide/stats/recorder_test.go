package stats

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"reflect"
	stdsync "sync"
	"testing"
	"time"
)

// clock is a settable time source for Config.Now.
type clock struct {
	mu stdsync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)} }

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// visitor returns a distinct visitor id for i.
func visitor(i int) []byte {
	return binary.BigEndian.AppendUint64([]byte("v-"), uint64(i))
}

var abSpecs = []VariantSpec{
	{Name: "control", Weight: 0.5, Control: true},
	{Name: "treatment", Weight: 0.5},
}

func newTestRecorder(c *clock) *Recorder {
	r := NewRecorder(Config{Now: c.now})
	r.Register("hero", abSpecs)
	return r
}

func campaign(t *testing.T, rep Report, name string) CampaignReport {
	t.Helper()
	for _, c := range rep.Campaigns {
		if c.Campaign == name {
			return c
		}
	}
	t.Fatalf("campaign %q not in report", name)
	return CampaignReport{}
}

func variant(t *testing.T, c CampaignReport, name string) VariantReport {
	t.Helper()
	for _, v := range c.Variants {
		if v.Variant == name {
			return v
		}
	}
	t.Fatalf("variant %q not in campaign %q", name, c.Campaign)
	return VariantReport{}
}

func within(got uint64, want int, rel float64) bool {
	return math.Abs(float64(got)-float64(want)) <= rel*float64(want)
}

func TestRecorderCounts(t *testing.T) {
	c := newClock()
	r := newTestRecorder(c)
	// 2,000 visitors per arm, each seen twice; 200 control and 260
	// treatment visitors convert, the first 50 of each twice.
	for i := range 4000 {
		arm := "control"
		if i%2 == 1 {
			arm = "treatment"
		}
		r.Expose("hero", arm, visitor(i))
		r.Expose("hero", arm, visitor(i))
	}
	convert := func(arm string, first, n int) {
		for k := range n {
			r.Convert("hero", arm, visitor(first+2*k))
			if k < 50 {
				r.Convert("hero", arm, visitor(first+2*k))
			}
		}
	}
	convert("control", 0, 200)
	convert("treatment", 1, 260)

	cr := campaign(t, r.Report("n1"), "hero")
	tests := []struct {
		name                   string
		exposures, conversions uint64
		visitors, converters   int
	}{
		{"control", 4000, 250, 2000, 200},
		{"treatment", 4000, 310, 2000, 260},
	}
	for _, tt := range tests {
		v := variant(t, cr, tt.name)
		if v.Exposures != tt.exposures || v.Conversions != tt.conversions {
			t.Errorf("%s: exposures %d conversions %d, want %d %d", tt.name, v.Exposures, v.Conversions, tt.exposures, tt.conversions)
		}
		// Three standard errors of a precision-14 sketch.
		if !within(v.UniqueVisitors, tt.visitors, 0.025) || !within(v.Converters, tt.converters, 0.025) {
			t.Errorf("%s: unique %d converters %d, want ≈%d ≈%d", tt.name, v.UniqueVisitors, v.Converters, tt.visitors, tt.converters)
		}
		if v.ConversionRate == nil || math.Abs(*v.ConversionRate-float64(tt.converters)/float64(tt.visitors)) > 0.005 {
			t.Errorf("%s: rate %v, want ≈%v", tt.name, v.ConversionRate, float64(tt.converters)/float64(tt.visitors))
		}
	}
	if cr.Baseline != "control" {
		t.Errorf("baseline %q, want %q", cr.Baseline, "control")
	}
	ctl, trt := variant(t, cr, "control"), variant(t, cr, "treatment")
	if ctl.Lift != nil || ctl.PValue != nil || ctl.LiftCI95 != nil {
		t.Errorf("baseline has lift %v p %v ci %v, want none", ctl.Lift, ctl.PValue, ctl.LiftCI95)
	}
	want := compare(float64(ctl.Converters), float64(ctl.UniqueVisitors), float64(trt.Converters), float64(trt.UniqueVisitors))
	if trt.Lift == nil || *trt.Lift != want.lift || trt.PValue == nil || *trt.PValue != want.pValue ||
		trt.LiftCI95 == nil || *trt.LiftCI95 != (Interval{want.ciLow, want.ciHigh}) {
		t.Errorf("treatment lift %v p %v ci %v, want %+v", trt.Lift, trt.PValue, trt.LiftCI95, want)
	}
	if cr.SRMTest == nil || cr.SRM {
		t.Errorf("fair split: srm %v test %+v, want a test and no flag", cr.SRM, cr.SRMTest)
	}
}

func TestReportSRM(t *testing.T) {
	tests := []struct {
		name      string
		control   int
		treatment int
		wantSRM   bool
	}{
		{"skewed", 5500, 4500, true},
		{"fair", 5000, 5000, false},
	}
	for _, tt := range tests {
		r := newTestRecorder(newClock())
		for i := range tt.control {
			r.Expose("hero", "control", visitor(i))
		}
		for i := range tt.treatment {
			r.Expose("hero", "treatment", visitor(1e6+i))
		}
		cr := campaign(t, r.Report("n1"), "hero")
		if cr.SRMTest == nil || cr.SRM != tt.wantSRM {
			t.Errorf("%s: srm %v test %+v, want srm %v", tt.name, cr.SRM, cr.SRMTest, tt.wantSRM)
		}
	}
}

func TestReportBaseline(t *testing.T) {
	tests := []struct {
		name  string
		specs []VariantSpec
		want  string
	}{
		{"control wins over holdout", []VariantSpec{{Name: "a", Weight: 1}, {Name: "holdout", Weight: 1, Holdout: true}, {Name: "b", Weight: 1, Control: true}}, "b"},
		{"holdout without control", []VariantSpec{{Name: "a", Weight: 1}, {Name: "holdout", Weight: 1, Holdout: true}}, "holdout"},
		{"neither", []VariantSpec{{Name: "a", Weight: 1}, {Name: "b", Weight: 1}}, ""},
	}
	for _, tt := range tests {
		r := NewRecorder(Config{})
		r.Register("c", tt.specs)
		for _, s := range tt.specs {
			for i := range 100 {
				r.Expose("c", s.Name, visitor(i))
				if i < 10 {
					r.Convert("c", s.Name, visitor(i))
				}
			}
		}
		cr := campaign(t, r.Report("n"), "c")
		if cr.Baseline != tt.want {
			t.Errorf("%s: baseline %q, want %q", tt.name, cr.Baseline, tt.want)
		}
		for _, v := range cr.Variants {
			if hasLift := v.Lift != nil; hasLift != (tt.want != "" && v.Variant != tt.want) {
				t.Errorf("%s: variant %q has lift %v", tt.name, v.Variant, v.Lift)
			}
		}
	}
}

func TestReportZeroCounts(t *testing.T) {
	tests := []struct {
		name   string
		record func(r *Recorder)
	}{
		{"nothing recorded", func(*Recorder) {}},
		{"exposures without visitor ids", func(r *Recorder) {
			r.Expose("hero", "control", nil)
			r.Convert("hero", "treatment", nil)
		}},
		{"no conversions", func(r *Recorder) {
			for i := range 100 {
				r.Expose("hero", "control", visitor(i))
				r.Expose("hero", "treatment", visitor(i+100))
			}
		}},
		{"control has no visitors", func(r *Recorder) {
			r.Expose("hero", "treatment", visitor(1))
			r.Convert("hero", "treatment", visitor(1))
		}},
		{"unregistered campaign", func(r *Recorder) {
			r.Expose("other", "x", visitor(1))
			r.Convert("other", "y", visitor(1))
		}},
	}
	for _, tt := range tests {
		r := newTestRecorder(newClock())
		tt.record(r)
		rep := r.Report("n1")
		if _, err := json.Marshal(rep); err != nil {
			t.Errorf("%s: marshal: %v", tt.name, err)
		}
		for _, c := range rep.Campaigns {
			if c.SRM {
				t.Errorf("%s: %s flagged SRM", tt.name, c.Campaign)
			}
			for _, v := range c.Variants {
				if v.UniqueVisitors == 0 && v.ConversionRate != nil {
					t.Errorf("%s: %s has a rate with no visitors", tt.name, v.Variant)
				}
			}
		}
	}
	if rep := Merge(); len(rep.Campaigns) != 0 || len(rep.Nodes) != 0 {
		t.Errorf("Merge() = %+v, want empty", rep)
	}
}

func TestRegisterKeepsCounts(t *testing.T) {
	r := newTestRecorder(newClock())
	r.Expose("hero", "control", visitor(1))
	r.Expose("hero", "treatment", visitor(2))
	r.Expose("hero", "late", visitor(3)) // unregistered, then configured
	r.Register("hero", []VariantSpec{
		{Name: "treatment", Weight: 1, Control: true},
		{Name: "late", Weight: 1},
		{Name: "late", Weight: 9}, // duplicate: first wins
		{Name: "", Weight: 1},     // ignored
	})
	cr := campaign(t, r.Report("n"), "hero")
	var got []string
	for _, v := range cr.Variants {
		got = append(got, v.Variant)
		if v.Exposures != 1 {
			t.Errorf("%s: exposures %d, want 1", v.Variant, v.Exposures)
		}
	}
	if want := []string{"treatment", "late", "control"}; !reflect.DeepEqual(got, want) {
		t.Errorf("variants %q, want %q", got, want)
	}
	if v := variant(t, cr, "control"); v.Weight != 0 || v.Control {
		t.Errorf("dropped variant kept its spec: %+v", v)
	}
	if v := variant(t, cr, "late"); v.Weight != 1 {
		t.Errorf("late weight %v, want 1", v.Weight)
	}
	if cr.Baseline != "treatment" {
		t.Errorf("baseline %q, want treatment", cr.Baseline)
	}
}

func TestMaxSeries(t *testing.T) {
	r := NewRecorder(Config{MaxSeries: 3})
	r.Register("a", []VariantSpec{{Name: "1"}, {Name: "2"}})
	r.Expose("b", "1", visitor(1)) // third series
	r.Expose("b", "2", visitor(1)) // over the cap
	r.Convert("c", "1", visitor(1))
	r.Register("d", []VariantSpec{{Name: "1"}})
	r.Expose("a", "1", visitor(1)) // registered: still counted
	if got := r.Dropped(); got != 2 {
		t.Errorf("Dropped() = %d, want 2", got)
	}
	st := r.State("n")
	var names []string
	for _, c := range st.Campaigns {
		for _, v := range c.Variants {
			names = append(names, c.Campaign+"/"+v.Name)
		}
	}
	if want := []string{"a/1", "a/2", "b/1"}; !reflect.DeepEqual(names, want) {
		t.Errorf("series %q, want %q", names, want)
	}
}

// record plays a deterministic workload into r, visitors [from, to).
func record(r *Recorder, from, to int) {
	for i := from; i < to; i++ {
		arm := abSpecs[i%2].Name
		r.Expose("hero", arm, visitor(i))
		if i%7 == 0 {
			r.Convert("hero", arm, visitor(i))
		}
		if i%3 == 0 {
			r.Expose("side", "only", visitor(i))
		}
	}
}

func TestMergeEqualsOneNode(t *testing.T) {
	c := newClock()
	a, b, all := newTestRecorder(c), newTestRecorder(c), newTestRecorder(c)
	// Visitors 3,000–5,000 visit both nodes: the union must count them once.
	record(a, 0, 5000)
	record(b, 3000, 8000)
	record(all, 0, 5000)
	record(all, 3000, 8000)

	stA, stB := a.State("a"), b.State("b")
	one := all.Report("all")
	merged := Merge(stA, stB)
	for _, rep := range []Report{merged, Merge(stB, stA), Merge(stA, stB, stA, stB)} {
		assertSameStats(t, rep, one)
	}
	if len(merged.Nodes) != 2 {
		t.Errorf("nodes %+v, want a and b", merged.Nodes)
	}

	// Over the wire.
	var decoded []NodeState
	for _, st := range []NodeState{stA, stB} {
		data, err := json.Marshal(st)
		if err != nil {
			t.Fatal(err)
		}
		got, err := DecodeNodeState(data)
		if err != nil {
			t.Fatalf("DecodeNodeState: %v", err)
		}
		decoded = append(decoded, got)
	}
	assertSameStats(t, Merge(decoded...), one)

	// An older snapshot of a node beside its newer one adds nothing.
	c.advance(time.Minute)
	record(a, 8000, 9000)
	newA := a.State("a")
	if !reflect.DeepEqual(Merge(stA, newA, stB).Campaigns, Merge(newA, stB).Campaigns) {
		t.Error("an older snapshot changed the merge")
	}
}

// assertSameStats compares the campaigns of two reports. HyperLogLog union
// is a register-wise maximum, so the merged sketches equal the single
// sketch exactly and so do every estimate and statistic.
func assertSameStats(t *testing.T, got, want Report) {
	t.Helper()
	if !reflect.DeepEqual(got.Campaigns, want.Campaigns) {
		g, _ := json.Marshal(got.Campaigns)
		w, _ := json.Marshal(want.Campaigns)
		t.Errorf("merged campaigns\n%s\nwant\n%s", g, w)
	}
}

func TestMergeRestartedNode(t *testing.T) {
	c := newClock()
	first := newTestRecorder(c)
	record(first, 0, 100)
	old := first.State("a")
	c.advance(time.Hour)
	second := newTestRecorder(c) // same node name, new run
	record(second, 100, 300)
	cr := campaign(t, Merge(old, second.State("a")), "hero")
	var exposures uint64
	for _, v := range cr.Variants {
		exposures += v.Exposures
	}
	if exposures != 300 {
		t.Errorf("exposures %d, want 300 (both runs)", exposures)
	}
}

func TestMergeSpecFromNewestState(t *testing.T) {
	c := newClock()
	a := newTestRecorder(c)
	b := newTestRecorder(c)
	b.Register("hero", []VariantSpec{{Name: "control", Weight: 0.9, Control: true}, {Name: "treatment", Weight: 0.1}})
	stA := a.State("a")
	c.advance(time.Second)
	stB := b.State("b")
	for _, rep := range []Report{Merge(stA, stB), Merge(stB, stA)} {
		if v := variant(t, campaign(t, rep, "hero"), "control"); v.Weight != 0.9 {
			t.Errorf("control weight %v, want 0.9 from the newer state", v.Weight)
		}
	}
	if got := Merge(stA, stB).GeneratedAt; !got.Equal(stB.At) {
		t.Errorf("generated_at %v, want %v", got, stB.At)
	}
}

func TestConcurrentRecording(t *testing.T) {
	r := newTestRecorder(newClock())
	const workers, perWorker = 8, 500
	var wg stdsync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range perWorker {
				id := visitor(w*perWorker + i)
				r.Expose("hero", abSpecs[i%2].Name, id)
				r.Convert("hero", abSpecs[i%2].Name, id)
				r.Expose("new", "x", id) // unregistered: races to create
			}
		})
	}
	wg.Go(func() {
		for range 20 {
			_ = r.State("n")
			r.Register("hero", abSpecs)
		}
	})
	wg.Wait()
	rep := r.Report("n")
	tests := []struct {
		campaign, variant string
		exposures         uint64
	}{
		{"hero", "control", workers * perWorker / 2},
		{"hero", "treatment", workers * perWorker / 2},
		{"new", "x", workers * perWorker},
	}
	for _, tt := range tests {
		v := variant(t, campaign(t, rep, tt.campaign), tt.variant)
		if v.Exposures != tt.exposures {
			t.Errorf("%s/%s: exposures %d, want %d", tt.campaign, tt.variant, v.Exposures, tt.exposures)
		}
	}
}
