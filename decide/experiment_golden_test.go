package decide

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/marquee-proxy/marquee/profile"
)

// goldenTwoArms is a 50/50 experiment with a 20% holdout and its own salt.
const goldenTwoArms = `salt: top-salt
campaigns:
  - id: hero-ab
    slot: hero
    template: base
    experiment:
      id: exp-ab
      salt: s-2026
      holdout: 0.2
      variants:
        - {name: a, weight: 1, control: true}
        - {name: b, weight: 1}
`

// goldenThreeArms is a 3/2/1 experiment without holdout that takes the
// top-level salt.
const goldenThreeArms = `salt: top-salt
campaigns:
  - id: hero-abc
    slot: hero
    template: base
    experiment:
      id: exp-abc
      variants:
        - {name: a, weight: 3, control: true}
        - {name: b, weight: 2}
        - {name: c, weight: 1}
`

// chooseHero returns the variant the engine gives id on the hero slot of
// an empty profile, and whether the visitor is in the global holdout.
func chooseHero(t *testing.T, e *Engine, id string) (variant string, global bool) {
	t.Helper()
	d := e.Acquire(&profile.Profile{}, []byte(id), testNow)
	defer d.Release()
	ch, ok := d.Choose("hero")
	if !ok && !d.GlobalHoldout {
		t.Fatalf("visitor %s: no choice", id)
	}
	return ch.VariantName(), d.GlobalHoldout
}

// TestExperimentGoldenAssignments pins the arm that fixed visitor ids get
// today. Every node and every release must keep giving a visitor the same
// arm, so a change here reshuffles running experiments.
func TestExperimentGoldenAssignments(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string // arm of visitor-00 .. visitor-19
	}{
		{"two arms with holdout", goldenTwoArms, []string{
			"a", "a", "a", HoldoutVariant, "a", "a", "a", "b", "b", "a",
			HoldoutVariant, "b", "a", "a", "b", "a", "a", "a", "b", "a",
		}},
		{"three arms 3/2/1", goldenThreeArms, []string{
			"b", "b", "a", "a", "c", "c", "b", "a", "a", "b",
			"b", "b", "c", "a", "b", "a", "a", "c", "a", "b",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := Compile(parse(t, tt.yaml))
			if err != nil {
				t.Fatal(err)
			}
			for i, want := range tt.want {
				id := fmt.Sprintf("visitor-%02d", i)
				if got, _ := chooseHero(t, e, id); got != want {
					t.Errorf("%s: got %q, want %q", id, got, want)
				}
			}
		})
	}
}

// TestGlobalHoldoutGolden pins which fixed visitor ids fall in a 25%
// global holdout under the top-level salt.
func TestGlobalHoldoutGolden(t *testing.T) {
	e, err := Compile(parse(t, "global_holdout: 0.25\n"+goldenTwoArms))
	if err != nil {
		t.Fatal(err)
	}
	held := map[int]bool{2: true, 6: true, 14: true, 16: true, 19: true}
	for i := range 20 {
		id := fmt.Sprintf("visitor-%02d", i)
		if _, got := chooseHero(t, e, id); got != held[i] {
			t.Errorf("%s: global holdout %v, want %v", id, got, held[i])
		}
	}
}

// TestUnitHashGolden pins raw hash values, which every assignment and
// holdout derives from.
func TestUnitHashGolden(t *testing.T) {
	tests := []struct {
		salt, key, arm, id string
		want               float64
	}{
		{"s-2026", "exp-ab", "a", "visitor-00", 0.82966833533262307},
		{"s-2026", "exp-ab", "\x00holdout", "visitor-00", 0.84003359004909184},
		{"marquee", "global", "", "visitor-07", 0.45833836174546611},
		{"", "", "", "", 0.22109821668036184},
		{"ab", "c", "", "v", 0.40166834666661261},
		{"a", "bc", "", "v", 0.080490818906245043},
	}
	for _, tt := range tests {
		got := unitHash(tt.salt, tt.key, tt.arm, []byte(tt.id))
		if math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("unitHash(%q, %q, %q, %q) = %.17g, want %.17g", tt.salt, tt.key, tt.arm, tt.id, got, tt.want)
		}
	}
}

// TestUnitHashSeparatesParts checks that moving bytes from one part to
// the next changes the hash: without a separator, salt "ab" with
// experiment "c" would assign like salt "a" with experiment "bc".
func TestUnitHashSeparatesParts(t *testing.T) {
	tests := []struct {
		name string
		x, y [4]string // salt, key, arm, id
	}{
		{"salt and key", [4]string{"ab", "c", "", "v"}, [4]string{"a", "bc", "", "v"}},
		{"key and arm", [4]string{"s", "ab", "c", "v"}, [4]string{"s", "a", "bc", "v"}},
		{"arm and id", [4]string{"s", "k", "ab", "c"}, [4]string{"s", "k", "a", "bc"}},
		{"salt moved into key", [4]string{"", "abc", "", "v"}, [4]string{"abc", "", "", "v"}},
	}
	for _, tt := range tests {
		hx := unitHash(tt.x[0], tt.x[1], tt.x[2], []byte(tt.x[3]))
		hy := unitHash(tt.y[0], tt.y[1], tt.y[2], []byte(tt.y[3]))
		if hx == hy {
			t.Errorf("%s: unitHash%q = unitHash%q = %v", tt.name, tt.x, tt.y, hx)
		}
	}
}

// TestNewSaltRedraws checks that changing an experiment's salt re-draws
// its assignment: between two 50/50 arms, about half of the visitors
// change arm, as for two independent draws.
func TestNewSaltRedraws(t *testing.T) {
	const cfg = `campaigns:
  - id: hero-ab
    slot: hero
    template: base
    experiment:
      id: exp-ab
      salt: %s
      variants:
        - {name: a, weight: 1}
        - {name: b, weight: 1}
`
	before, err := Compile(parse(t, fmt.Sprintf(cfg, "first-salt")))
	if err != nil {
		t.Fatal(err)
	}
	after, err := Compile(parse(t, fmt.Sprintf(cfg, "second-salt")))
	if err != nil {
		t.Fatal(err)
	}
	const n = 10_000
	x, y := assignAll(t, before, n), assignAll(t, after, n)
	moved := 0
	for i := range n {
		if x[i] != y[i] {
			moved++
		}
	}
	if frac := float64(moved) / n; frac < 0.45 || frac > 0.55 {
		t.Errorf("a new salt moved %.3f of visitors, want 0.45 to 0.55", frac)
	}
	for _, arms := range [][]string{x, y} {
		if a := float64(strings.Count(strings.Join(arms, ""), "a")) / n; math.Abs(a-0.5) > 0.03 {
			t.Errorf("arm a has %.3f of visitors, want 0.5", a)
		}
	}
}
