package sync

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/marquee-proxy/marquee/profile"
)

func TestMergeRecordsCountersAddUp(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	base := &profile.Profile{ID: "v", Attrs: map[string]any{"tier": "gold"}, Version: profile.VersionAt(t0), Born: profile.VersionAt(t0), Node: "n1",
		Caps: map[string][]profile.NodeDayCount{"promo": {{Day: 100, Node: "n1", Count: 1}}}}
	// Two nodes count an impression each, at the same moment.
	a := base.Clone()
	a.Caps["promo"][0].Count = 2
	a.Version, a.Node = profile.VersionAt(t0.Add(time.Second)), "n1"
	b := base.Clone()
	b.Caps["promo"] = append(b.Caps["promo"], profile.NodeDayCount{Day: 100, Node: "n2", Count: 1})
	b.Exposures = map[string]profile.Exposure{"promo": {Variant: "x", At: t0.Add(time.Second)}}
	b.Variants = map[string]string{"exp": "x"}
	b.Version, b.Node = profile.VersionAt(t0.Add(time.Second)), "n2"

	ab, ba := MergeRecords(a, b), MergeRecords(b, a)
	ja, _ := json.Marshal(ab)
	jb, _ := json.Marshal(ba)
	if string(ja) != string(jb) {
		t.Fatalf("merge depends on order:\n%s\n%s", ja, jb)
	}
	total := 0
	for _, c := range ab.Caps["promo"] {
		total += int(c.Count)
	}
	if total != 3 {
		t.Errorf("cap counts after merge: %+v, want 3 impressions (2 on n1, 1 on n2)", ab.Caps["promo"])
	}
	if ab.Variants["exp"] != "x" || ab.Exposures["promo"].Variant != "x" {
		t.Errorf("variants %v, exposures %v lost in the merge", ab.Variants, ab.Exposures)
	}
	if ab.Version != max(a.Version, b.Version) || ab.Node != "n2" {
		t.Errorf("merged version %d by %s, want the higher of (%d, %d), by n2", ab.Version, ab.Node, a.Version, b.Version)
	}
	// Idempotent: merging the result with either input changes nothing.
	for _, in := range []*profile.Profile{a, b, ab} {
		if j, _ := json.Marshal(MergeRecords(ab, in)); string(j) != string(ja) {
			t.Errorf("merging the merged record with an input changed it:\n%s\n%s", j, ja)
		}
	}
	// A copy that adds nothing leaves the newer as it is.
	older := base.Clone()
	aa := MergeRecords(a, a)
	want, _ := json.Marshal(aa)
	if got, _ := json.Marshal(MergeRecords(aa, older)); string(got) != string(want) {
		t.Errorf("an older copy with nothing new changed the newer:\n%s\n%s", got, want)
	}
}

func TestMergeRemoteKeepsBothNodesCounts(t *testing.T) {
	s, err := Open(Options{Node: "n1"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Update("v", func(p *profile.Profile) error {
		p.Caps = map[string][]profile.NodeDayCount{"promo": {{Day: 100, Node: "n1", Count: 2}}}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	local, _ := s.Get("v")
	remote := &profile.Profile{ID: "v", Version: local.Version + 5, Node: "n2", Born: local.Born,
		Caps: map[string][]profile.NodeDayCount{"promo": {{Day: 100, Node: "n2", Count: 1}}}}
	if ok, err := s.MergeRemote(remote); err != nil || !ok {
		t.Fatalf("MergeRemote: %v %v", ok, err)
	}
	got, _ := s.Get("v")
	n := 0
	for _, c := range got.Caps["promo"] {
		n += int(c.Count)
	}
	if n != 3 {
		t.Errorf("after merging a newer remote copy: caps %+v, want both nodes' counts (3)", got.Caps["promo"])
	}
}

// TestOldRemovalStampsDropped: a removal stamp is kept while it is newer
// than RemovalRetention before the record's version, so a copy holding
// the removed value loses to it, and dropped after, the same way by a
// write and by a merge; stamps of values held are kept.
func TestOldRemovalStampsDropped(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	v := func(d time.Duration) profile.Version { return profile.VersionAt(t0.Add(d)) }
	stale := &profile.Profile{ID: "x", Attrs: map[string]any{"tier": "gold", "city": "Oslo"}}
	stampWrite(nil, stale, v(0), "n1")
	stale.Version, stale.Node, stale.Born = v(0), "n1", v(0)

	removed := stale.Clone()
	delete(removed.Attrs, "tier")
	stampWrite(stale, removed, v(time.Hour), "n1")
	removed.Version, removed.Node = v(time.Hour), "n1"

	later := func(after time.Duration) *profile.Profile {
		p := removed.Clone()
		p.Scores = map[string]float64{"s": float64(after)}
		p.Version = v(time.Hour + after)
		stampWrite(removed, p, p.Version, "n2")
		return p
	}
	within := later(RemovalRetention - time.Minute)
	if _, ok := within.Stamps[stampAttr+"tier"]; !ok {
		t.Fatal("removal stamp dropped within the retention")
	}
	if m := MergeRecords(within, stale); m.Attrs["tier"] != nil {
		t.Errorf("a stale copy brought back a key removed within the retention: %v", m.Attrs)
	}
	past := later(RemovalRetention + time.Minute)
	if _, ok := past.Stamps[stampAttr+"tier"]; ok {
		t.Error("removal stamp kept past the retention")
	}
	if _, ok := past.Stamps[stampAttr+"city"]; !ok {
		t.Error("the stamp of a value held was dropped")
	}
	// A merge drops it too, whichever copy still has it.
	m1, m2 := MergeRecords(within, past), MergeRecords(past, within)
	if _, ok := m1.Stamps[stampAttr+"tier"]; ok {
		t.Error("merge kept a removal stamp past the retention")
	}
	d1, _ := marshalProfile(m1)
	d2, _ := marshalProfile(m2)
	if string(d1) != string(d2) {
		t.Errorf("merge orders differ:\n%s\n%s", d1, d2)
	}
}

// TestMergeEnrollment: two copies of one person's exposure merge their
// experiment metrics commutatively and idempotently: the same arm keeps
// the earlier enrollment with its covariate and the larger totals, and a
// different arm brings its own.
func TestMergeEnrollment(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	early := profile.Exposure{Variant: "x", At: t0.Add(time.Minute), Enrolled: t0, PreOrders: 1, PreRevenue: 9, Orders: 1, Revenue: 20}
	late := profile.Exposure{Variant: "x", At: t0.Add(2 * time.Minute), Enrolled: t0.Add(time.Second), Orders: 2, Revenue: 35}
	other := profile.Exposure{Variant: "y", At: t0.Add(3 * time.Minute), Enrolled: t0.Add(3 * time.Minute)}
	tests := []struct {
		name string
		a, b profile.Exposure
		want profile.Exposure
	}{
		{"same arm", early, late, profile.Exposure{Variant: "x", At: late.At, Enrolled: t0, PreOrders: 1, PreRevenue: 9, Orders: 2, Revenue: 35}},
		{"newer arm", early, other, other},
		{"one not enrolled", profile.Exposure{Variant: "x", At: t0.Add(time.Hour)}, early, profile.Exposure{Variant: "x", At: t0.Add(time.Hour), Enrolled: t0, PreOrders: 1, PreRevenue: 9, Orders: 1, Revenue: 20}},
	}
	for _, tt := range tests {
		var got [2]profile.Exposure
		for i, pair := range [2][2]profile.Exposure{{tt.a, tt.b}, {tt.b, tt.a}} {
			m := &profile.Profile{Exposures: map[string]profile.Exposure{"c": pair[0]}}
			mergeExposures(m, &profile.Profile{Exposures: map[string]profile.Exposure{"c": pair[1]}})
			mergeExposures(m, &profile.Profile{Exposures: map[string]profile.Exposure{"c": pair[1]}}) // idempotent
			got[i] = m.Exposures["c"]
		}
		if !sameExposure(got[0], tt.want) || !sameExposure(got[1], tt.want) {
			t.Errorf("%s: got %+v and %+v, want %+v", tt.name, got[0], got[1], tt.want)
		}
	}
}

// TestEnrollmentStored: an exposure's experiment metrics survive the
// stored form.
func TestEnrollmentStored(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	x := profile.Exposure{Variant: "b", At: t0, Converted: t0, Enrolled: t0.Add(-time.Hour), PreOrders: 2, PreRevenue: 30.5, Orders: 3, Revenue: 99.9}
	data, err := marshalProfile(&profile.Profile{ID: "v", Exposures: map[string]profile.Exposure{"hero": x}})
	if err != nil {
		t.Fatal(err)
	}
	p, err := unmarshalProfile(data)
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Exposures["hero"]; !sameExposure(got, x) {
		t.Errorf("stored %+v, read back %+v", x, got)
	}
}
