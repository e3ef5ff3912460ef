package stats

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

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
		note  string
	}{
		{"control wins over holdout", []VariantSpec{{Name: "a", Weight: 1}, {Name: "holdout", Weight: 1, Holdout: true}, {Name: "b", Weight: 1, Control: true}}, "b", ""},
		{"holdout without control", []VariantSpec{{Name: "a", Weight: 1}, {Name: "holdout", Weight: 1, Holdout: true}}, "holdout", ""},
		{"neither", []VariantSpec{{Name: "a", Weight: 1}, {Name: "b", Weight: 1}}, "", NoteNoBaseline},
		{"one arm", []VariantSpec{{Name: "default", Weight: 1}}, "", NoteOneArm},
		{"one weighted arm", []VariantSpec{{Name: "a", Weight: 1}, {Name: "off", Weight: 0}}, "", NoteOneArm},
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
		if cr.Note != tt.note {
			t.Errorf("%s: note %q, want %q", tt.name, cr.Note, tt.note)
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

func TestCompact(t *testing.T) {
	c := newClock()
	a, b := newTestRecorder(c), newTestRecorder(c)
	record(a, 0, 100)
	record(b, 100, 200)
	a1, b1 := a.State("a"), b.State("b")
	c.advance(time.Minute)
	record(a, 200, 300)
	a2 := a.State("a")
	all := []NodeState{a2, b1, a1, b1}
	got := Compact(all)
	if len(got) != 2 || got[0].Node != "a" || !got[0].At.Equal(a2.At) || got[1].Node != "b" {
		t.Fatalf("Compact kept %d states: %+v", len(got), got)
	}
	if !reflect.DeepEqual(Merge(got...).Campaigns, Merge(all...).Campaigns) {
		t.Error("Merge(Compact(s)...) differs from Merge(s...)")
	}
}

func TestReportJSONFields(t *testing.T) {
	r := newTestRecorder(newClock())
	for i := range 2000 {
		r.Expose("hero", abSpecs[i%2].Name, visitor(i))
		if i%5 < 2 {
			r.Convert("hero", abSpecs[i%2].Name, visitor(i))
		}
	}
	data, err := json.Marshal(r.Report("n1"))
	if err != nil {
		t.Fatal(err)
	}
	// Scripts read these names; renaming one breaks them.
	for _, key := range []string{"generated_at", "nodes", "node", "started", "at", "campaigns", "campaign", "baseline",
		"variants", "srm", "srm_test", "chi_square", "df", "p_value", "threshold", "variant", "weight", "control",
		"exposures", "unique_visitors", "conversions", "converters", "conversion_rate", "lift", "lift_ci95", "low", "high"} {
		if !strings.Contains(string(data), `"`+key+`":`) {
			t.Errorf("report JSON lacks %q:\n%s", key, data)
		}
	}
	if !strings.Contains(string(data), `"generated_at":"2026-11-23T12:00:00Z"`) {
		t.Errorf("generated_at is not RFC 3339 UTC:\n%s", data)
	}
	if data, _ := json.Marshal(Merge()); string(data) != `{"generated_at":"0001-01-01T00:00:00Z","nodes":[],"campaigns":[]}` {
		t.Errorf("empty report %s", data)
	}
}
