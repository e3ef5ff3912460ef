package decide

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/marquee-proxy/marquee/profile"
)

const experimentConfig = `segments:
  everyone: 'true'
campaigns:
  - id: hero-test
    slot: hero
    when: everyone
    template: base
    experiment:
      holdout: 0.1
      variants:
        - {name: a, weight: 2, template: '<b>A</b>', control: true}
        - {name: b, weight: 1, template: '<b>B</b>'}
        - {name: c, weight: 1}
`

// visitorID returns a deterministic visitor id for simulation i.
func visitorID(i int) []byte {
	var raw [16]byte
	binary.LittleEndian.PutUint64(raw[:], uint64(i)*0x9e3779b97f4a7c15)
	binary.LittleEndian.PutUint64(raw[8:], uint64(i))
	return []byte(base64.RawURLEncoding.EncodeToString(raw[:]))
}

func assignAll(t testing.TB, e *Engine, n int) []string {
	out := make([]string, n)
	empty := &profile.Profile{}
	for i := range n {
		d := e.Acquire(empty, visitorID(i), testNow)
		ch, ok := d.Choose("hero")
		if !ok {
			t.Fatalf("visitor %d: no choice", i)
		}
		out[i] = ch.VariantName()
		d.Release()
	}
	return out
}

// TestExperimentSplit assigns 100,000 simulated visitors and checks each
// arm's share against its configured weight within five standard errors.
func TestExperimentSplit(t *testing.T) {
	e, err := Compile(parse(t, experimentConfig))
	if err != nil {
		t.Fatal(err)
	}
	const n = 100_000
	counts := map[string]int{}
	for _, v := range assignAll(t, e, n) {
		counts[v]++
	}
	want := map[string]float64{"a": 0.9 * 0.5, "b": 0.9 * 0.25, "c": 0.9 * 0.25, HoldoutVariant: 0.1}
	for name, share := range want {
		got := float64(counts[name]) / n
		se := math.Sqrt(share * (1 - share) / n)
		if math.Abs(got-share) > 5*se {
			t.Errorf("variant %s: share %.4f, want %.4f ± %.4f", name, got, share, 5*se)
		}
	}
}

// TestExperimentWeightChangeMovesFew checks the rendezvous property: raising
// one arm's weight only moves visitors into that arm.
func TestExperimentWeightChangeMovesFew(t *testing.T) {
	before, err := Compile(parse(t, experimentConfig))
	if err != nil {
		t.Fatal(err)
	}
	after, err := Compile(parse(t, strings.Replace(experimentConfig, "{name: b, weight: 1,", "{name: b, weight: 2,", 1)))
	if err != nil {
		t.Fatal(err)
	}
	const n = 20_000
	x, y := assignAll(t, before, n), assignAll(t, after, n)
	moved := 0
	for i := range n {
		if x[i] != y[i] {
			moved++
			if y[i] != "b" {
				t.Fatalf("visitor %d moved from %s to %s; only moves into b are necessary", i, x[i], y[i])
			}
		}
	}
	// b goes from 1/4 to 2/5 of the treated share: 0.9*(0.4-0.25) = 13.5%
	// of visitors must move, and no more.
	if frac := float64(moved) / n; math.Abs(frac-0.135) > 0.02 {
		t.Errorf("moved %.3f of visitors, want about 0.135", frac)
	}
}

// TestExperimentSameAcrossProcesses assigns in a separate process and
// compares: assignment depends on nothing but the id and the config.
func TestExperimentSameAcrossProcesses(t *testing.T) {
	if os.Getenv("MARQUEE_ASSIGN_CHILD") == "1" {
		e, err := Compile(parse(t, experimentConfig))
		if err != nil {
			t.Fatal(err)
		}
		fmt.Println("ASSIGN " + strings.Join(assignAll(t, e, 500), ","))
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run", "^TestExperimentSameAcrossProcesses$", "-test.count=1")
	cmd.Env = append(os.Environ(), "MARQUEE_ASSIGN_CHILD=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	var child string
	for _, line := range strings.Split(string(out), "\n") {
		if s, ok := strings.CutPrefix(line, "ASSIGN "); ok {
			child = s
		}
	}
	e, err := Compile(parse(t, experimentConfig))
	if err != nil {
		t.Fatal(err)
	}
	if here := strings.Join(assignAll(t, e, 500), ","); here != child {
		t.Errorf("assignments differ between processes:\nhere  %s\nchild %s", here, child)
	}
}

func TestRememberedVariantSurvivesNewID(t *testing.T) {
	e, err := Compile(parse(t, experimentConfig))
	if err != nil {
		t.Fatal(err)
	}
	// Find the variant a visitor id gets, then log in as a customer whose
	// id would get another: the remembered one wins.
	p := &profile.Profile{}
	var anon, other string
	for i := 0; anon == "" || other == "" || anon == other; i++ {
		d := e.Acquire(p, visitorID(i), testNow)
		ch, _ := d.Choose("hero")
		d.Release()
		if anon == "" {
			anon = ch.VariantName()
		} else {
			other = ch.VariantName()
		}
	}
	remembered := &profile.Profile{Variants: map[string]string{"hero-test": anon}}
	for i := range 50 {
		d := e.Acquire(remembered, []byte(fmt.Sprintf("customer-%d", i)), testNow)
		ch, _ := d.Choose("hero")
		d.Release()
		if ch.VariantName() != anon {
			t.Fatalf("customer %d got %s, want the remembered %s", i, ch.VariantName(), anon)
		}
	}
}

func TestGlobalHoldout(t *testing.T) {
	e, err := Compile(parse(t, "global_holdout: 0.2\n"+experimentConfig))
	if err != nil {
		t.Fatal(err)
	}
	const n = 20_000
	held := 0
	for i := range n {
		d := e.Acquire(&profile.Profile{}, visitorID(i), testNow)
		_, ok := d.Choose("hero")
		if d.GlobalHoldout == ok {
			t.Fatalf("visitor %d: global holdout %v but chosen %v", i, d.GlobalHoldout, ok)
		}
		if d.GlobalHoldout {
			held++
		}
		d.Release()
	}
	if frac := float64(held) / n; math.Abs(frac-0.2) > 5*math.Sqrt(0.2*0.8/n) {
		t.Errorf("global holdout share %.4f, want 0.2", frac)
	}
}

func TestFrequencyCap(t *testing.T) {
	e, err := Compile(parse(t, `campaigns:
  - id: capped
    slot: hero
    priority: 10
    template: offer
    cap: {max: 3, window: 1d}
  - id: fallback-campaign
    slot: hero
    template: other
`))
	if err != nil {
		t.Fatal(err)
	}
	p := &profile.Profile{}
	var shown []string
	for range 5 {
		d := e.Acquire(p, []byte("v"), testNow)
		ch, _ := d.Choose("hero")
		shown = append(shown, ch.Campaign.ID)
		today := d.Today()
		d.Release()
		if ch.Campaign.ID == "capped" {
			// What the proxy records on an exposure, on two nodes alternately.
			next := p.Clone()
			if next.Caps == nil {
				next.Caps = map[string][]profile.NodeDayCount{}
			}
			node := fmt.Sprintf("n%d", len(shown)%2)
			next.Caps["capped"] = append(next.Caps["capped"], profile.NodeDayCount{Day: today, Node: node, Count: 1})
			p = next
		}
	}
	if got, want := strings.Join(shown, ","), "capped,capped,capped,fallback-campaign,fallback-campaign"; got != want {
		t.Errorf("shown %s, want %s", got, want)
	}
	// Tomorrow the cap starts again.
	d := e.Acquire(p, []byte("v"), testNow.Add(24*time.Hour))
	defer d.Release()
	if ch, _ := d.Choose("hero"); ch.Campaign.ID != "capped" {
		t.Errorf("next day: got %s, want capped", ch.Campaign.ID)
	}
}

func TestSchedule(t *testing.T) {
	e, err := Compile(parse(t, `campaigns:
  - id: december
    slot: hero
    template: x
    schedule: {from: "2026-12-01T00:00:00Z", to: "2026-12-24T00:00:00Z"}
  - id: weekday-mornings
    slot: offer
    template: y
    schedule: {days: [mon, tue, wed, thu, fri], hours: ["09:00-12:00"], time_zone: Europe/Paris}
  - id: night
    slot: recs
    template: z
    schedule: {hours: ["22:00-02:00"]}
`))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		at   string
		slot string
		want bool
	}{
		{"2026-11-30T23:59:59Z", "hero", false},
		{"2026-12-01T00:00:00Z", "hero", true},
		{"2026-12-23T23:59:59Z", "hero", true},
		{"2026-12-24T00:00:00Z", "hero", false},
		{"2026-11-23T08:30:00Z", "offer", true},  // Monday 09:30 in Paris
		{"2026-11-23T07:30:00Z", "offer", false}, // 08:30 in Paris
		{"2026-11-22T08:30:00Z", "offer", false}, // Sunday
		{"2026-11-23T23:00:00Z", "recs", true},
		{"2026-11-24T01:59:00Z", "recs", true},
		{"2026-11-24T02:00:00Z", "recs", false},
		{"2026-11-24T12:00:00Z", "recs", false},
	}
	for _, tt := range tests {
		now, _ := time.Parse(time.RFC3339, tt.at)
		d := e.Acquire(&profile.Profile{}, []byte("v"), now)
		_, ok := d.Choose(tt.slot)
		d.Release()
		if ok != tt.want {
			t.Errorf("%s at %s: shown %v, want %v", tt.slot, tt.at, ok, tt.want)
		}
	}
}

func TestSameCampaignNeverTwiceOnAPage(t *testing.T) {
	e, err := Compile(parse(t, `campaigns:
  - {id: one, slot: hero, priority: 5, template: x}
  - {id: two, slot: hero, template: y}
`))
	if err != nil {
		t.Fatal(err)
	}
	d := e.Acquire(&profile.Profile{}, []byte("v"), testNow)
	defer d.Release()
	a, _ := d.Choose("hero")
	b, _ := d.Choose("hero")
	_, ok := d.Choose("hero")
	if a.Campaign.ID != "one" || b.Campaign.ID != "two" || ok {
		t.Errorf("two hero slots got %s, %s and a third %v", a.Campaign.ID, b.Campaign.ID, ok)
	}
}

func TestPlainConditionsCompileAndRun(t *testing.T) {
	e, err := Compile(parse(t, `segments:
  premium_electronics: 'purchase_history.last_month_total > 500 AND browsing_category = "electronics"'
campaigns:
  - {id: premium, slot: hero, when: premium_electronics, template: x}
`))
	if err != nil {
		t.Fatal(err)
	}
	today := DayIndex(testNow, time.UTC)
	p := &profile.Profile{
		Purchases: []profile.Purchase{{Value: 600, At: testNow.Add(-48 * time.Hour)}},
		Views:     map[string][]profile.DayCount{"electronics": {{Day: today, Count: 4}}, "books": {{Day: today, Count: 1}}},
	}
	d := e.Acquire(p, []byte("v"), testNow)
	defer d.Release()
	if _, ok := d.Choose("hero"); !ok {
		t.Errorf("premium electronics visitor not chosen; explain: %+v", e.Explain(p, []byte("v"), testNow))
	}
}

func TestExplain(t *testing.T) {
	e, err := Compile(parse(t, `segments:
  gold: 'attrs.tier == "gold"'
campaigns:
  - {id: gold, slot: hero, priority: 10, when: gold, template: x}
  - {id: later, slot: hero, template: y, schedule: {from: "2030-01-01T00:00:00Z"}}
  - {id: any, slot: hero, priority: 1, template: z}
  - {id: broken, slot: offer, when: 'attrs.age > 3', template: w}
`))
	if err != nil {
		t.Fatal(err)
	}
	x := e.Explain(&profile.Profile{Attrs: map[string]any{"tier": "gold", "age": "old"}}, []byte("v"), testNow)
	got := map[string]string{}
	for _, c := range x.Campaigns {
		got[c.ID] = c.Reason
	}
	want := map[string]string{"gold": ReasonChosen, "any": ReasonOutranked, "later": ReasonSchedule, "broken": ReasonConditionError}
	for id, reason := range want {
		if got[id] != reason {
			t.Errorf("campaign %s: reason %q, want %q", id, got[id], reason)
		}
	}
	if len(x.Segments) != 1 || !x.Segments[0].Value || x.Errors != 1 {
		t.Errorf("segments %+v, errors %d", x.Segments, x.Errors)
	}
}

func TestReviewedEdgeCases(t *testing.T) {
	t.Run("overnight range belongs to the night it starts", func(t *testing.T) {
		e, err := Compile(parse(t, "campaigns:\n  - {id: fri-night, slot: hero, template: x, schedule: {days: [fri], hours: [\"22:00-02:00\"]}}\n"))
		if err != nil {
			t.Fatal(err)
		}
		for _, tt := range []struct {
			at   string
			want bool
		}{
			{"2026-11-27T23:00:00Z", true},  // Friday 23:00
			{"2026-11-28T01:00:00Z", true},  // Saturday 01:00, still Friday night
			{"2026-11-27T01:00:00Z", false}, // Friday 01:00 is Thursday night
			{"2026-11-28T22:30:00Z", false}, // Saturday night
		} {
			now, _ := time.Parse(time.RFC3339, tt.at)
			d := e.Acquire(&profile.Profile{}, []byte("v"), now)
			_, ok := d.Choose("hero")
			d.Release()
			if ok != tt.want {
				t.Errorf("%s: shown %v, want %v", tt.at, ok, tt.want)
			}
		}
	})
	t.Run("let variable shadows a segment name", func(t *testing.T) {
		e, err := Compile(parse(t, "segments:\n  vip: 'false'\n  uses_let: 'let vip = attrs.x == \"1\"; vip'\n"))
		if err != nil {
			t.Fatal(err)
		}
		x := e.Explain(&profile.Profile{Attrs: map[string]any{"x": "1"}}, []byte("v"), testNow)
		if !x.Segments[1].Value {
			t.Errorf("let vip evaluated as the segment vip: %+v", x.Segments)
		}
	})
	t.Run("segment names cannot hide expression names", func(t *testing.T) {
		for _, name := range []string{"cart", "views", "len", "now"} {
			_, err := Compile(parse(t, "segments:\n  "+name+": 'true'\n"))
			if err == nil || !strings.Contains(err.Error(), "already a name") {
				t.Errorf("segment %q: got %v", name, err)
			}
		}
	})
	t.Run("dynamic in_segment is never cached", func(t *testing.T) {
		e, err := Compile(parse(t, `segments:
  recent: 'views("shoes", "1d") >= 1'
  dyn: 'in_segment(attrs.which)'
campaigns:
  - {id: c, slot: hero, when: dyn, template: x}
`))
		if err != nil {
			t.Fatal(err)
		}
		day := DayIndex(testNow, time.UTC)
		p := &profile.Profile{Attrs: map[string]any{"which": "recent"}, Views: map[string][]profile.DayCount{"shoes": {{Day: day, Count: 1}}}}
		d := e.Acquire(p, []byte("v"), testNow)
		_, first := d.Choose("hero")
		d.Release()
		d = e.Acquire(p, []byte("v"), testNow.Add(72*time.Hour))
		_, later := d.Choose("hero")
		d.Release()
		if !first || later {
			t.Errorf("chosen on day 0: %v, on day 3: %v; want true, false", first, later)
		}
	})
}
