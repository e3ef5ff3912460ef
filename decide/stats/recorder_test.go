package stats

import (
	"encoding/binary"
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
