package decide

import (
	"fmt"
	"strings"
	"testing"

	"github.com/marquee-proxy/marquee/profile"
)

// layeredConfig has three experiments in layer "checkout" on three slots,
// so that without the layer one visitor would be in all three; an
// unlayered experiment on a fourth slot; and a plain campaign under the
// hero experiment that the layer's other visitors see instead.
const layeredConfig = `salt: top-salt
campaigns:
  - id: hero-test
    slot: hero
    priority: 10
    template: base
    experiment:
      layer: checkout
      salt: own-salt
      variants: [{name: a, control: true}, {name: b}]
  - id: hero-plain
    slot: hero
    template: plain
  - id: offer-test
    slot: offer
    template: base
    experiment:
      layer: checkout
      holdout: 0.1
      variants: [{name: a, control: true}, {name: b}]
  - id: recs-test
    slot: recs
    template: base
    experiment:
      layer: checkout
      variants: [{name: a, control: true}, {name: b}, {name: c}]
  - id: banner-test
    slot: banner
    template: base
    experiment:
      variants: [{name: a, control: true}, {name: b}]
`

// layerSlots are the slots of layeredConfig's layered experiments.
var layerSlots = []string{"hero", "offer", "recs"}

// layerChoices returns, for visitor id with profile p, each slot's
// campaign/variant ("" for none).
func layerChoices(t testing.TB, e *Engine, p *profile.Profile, id string) map[string]string {
	d := e.Acquire(p, []byte(id), testNow)
	defer d.Release()
	out := map[string]string{}
	for _, slot := range append(layerSlots, "banner") {
		if ch, ok := d.Choose(slot); ok {
			out[slot] = ch.Campaign.ID + "/" + ch.VariantName()
		}
	}
	return out
}

// layerMember returns the layered experiment's campaign id the choices
// put the visitor in, counting how many there are.
func layerMember(choices map[string]string) (member string, n int) {
	for _, slot := range layerSlots {
		c := choices[slot]
		if c != "" && c != "hero-plain/" {
			member, n = c, n+1
		}
	}
	return member, n
}

// TestLayerGolden pins the experiment and arm of fixed visitor ids in a
// layer: a change here moves visitors of running layered experiments.
func TestLayerGolden(t *testing.T) {
	e, err := Compile(parse(t, layeredConfig))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"hero-test/a", "offer-test/a", "recs-test/c", "offer-test/holdout", "offer-test/b",
		"recs-test/b", "offer-test/a", "hero-test/b", "offer-test/b", "offer-test/b",
		"hero-test/b", "offer-test/a", "recs-test/c", "hero-test/a", "offer-test/b",
		"offer-test/b", "recs-test/c", "hero-test/b", "offer-test/a", "recs-test/b",
	}
	for i, w := range want {
		id := fmt.Sprintf("visitor-%02d", i)
		got, n := layerMember(layerChoices(t, e, &profile.Profile{}, id))
		if got != w || n != 1 {
			t.Errorf("%s: in %q (%d layered experiments), want %q", id, got, n, w)
		}
	}
}

// TestLayerExclusiveAndEven places 30,000 visitors: each must be in
// exactly one experiment of the layer, the three must share them evenly
// (chi-square, df 2, below 13.82, the 0.1% critical value), a visitor the
// layer gives elsewhere must get the hero slot's next campaign, and the
// unlayered experiment must assign exactly as it does with no layers at
// all.
func TestLayerExclusiveAndEven(t *testing.T) {
	e, err := Compile(parse(t, layeredConfig))
	if err != nil {
		t.Fatal(err)
	}
	plain, err := Compile(parse(t, `salt: top-salt
campaigns:
  - id: banner-test
    slot: banner
    template: base
    experiment:
      variants: [{name: a, control: true}, {name: b}]
`))
	if err != nil {
		t.Fatal(err)
	}
	const n = 30000
	counts := map[string]int{}
	empty := &profile.Profile{}
	for i := range n {
		id := fmt.Sprintf("v%d", i)
		ch := layerChoices(t, e, empty, id)
		member, k := layerMember(ch)
		if k != 1 {
			t.Fatalf("%s is in %d experiments of the layer: %v", id, k, ch)
		}
		exp, _, _ := strings.Cut(member, "/")
		counts[exp]++
		if exp != "hero-test" && ch["hero"] != "hero-plain/" {
			t.Fatalf("%s: hero slot %q, want the plain campaign below the layered one", id, ch["hero"])
		}
		if want := layerChoices(t, plain, empty, id)["banner"]; ch["banner"] != want {
			t.Fatalf("%s: unlayered experiment gave %q, %q without layers", id, ch["banner"], want)
		}
	}
	chi2 := 0.0
	for _, c := range counts {
		d := float64(c) - n/3.0
		chi2 += d * d / (n / 3.0)
	}
	t.Logf("layer split %v, chi-square %.2f (df 2)", counts, chi2)
	if len(counts) != 3 || chi2 > 13.82 {
		t.Errorf("split %v: chi-square %.2f, want 3 experiments and at most 13.82", counts, chi2)
	}
}

// TestLayerRemembersMembership checks that a person the profile remembers
// in one of the layer's experiments stays in it whatever the hash of the
// id says (logging in changes that id), and is then in no other one.
func TestLayerRemembersMembership(t *testing.T) {
	e, err := Compile(parse(t, layeredConfig))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 50 {
		id := fmt.Sprintf("visitor-%02d", i)
		for _, exp := range []string{"hero-test", "offer-test", "recs-test"} {
			p := &profile.Profile{Variants: map[string]string{exp: "b"}}
			member, k := layerMember(layerChoices(t, e, p, id))
			if k != 1 || member != exp+"/b" {
				t.Errorf("%s remembered in %s/b: in %q (%d experiments)", id, exp, member, k)
			}
		}
	}
}

// TestExplainLayer: explain says why a layered campaign skips a visitor
// the layer gives to another experiment.
func TestExplainLayer(t *testing.T) {
	e, err := Compile(parse(t, layeredConfig))
	if err != nil {
		t.Fatal(err)
	}
	// visitor-01 is in offer-test (TestLayerGolden).
	ex := e.Explain(&profile.Profile{}, []byte("visitor-01"), testNow)
	got := map[string]string{}
	for _, c := range ex.Campaigns {
		got[c.ID] = c.Reason
	}
	want := map[string]string{"hero-test": ReasonLayer, "recs-test": ReasonLayer, "offer-test": ReasonChosen, "hero-plain": ReasonChosen}
	for id, reason := range want {
		if got[id] != reason {
			t.Errorf("%s: reason %q, want %q", id, got[id], reason)
		}
	}
}
