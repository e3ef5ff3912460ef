package demo

import (
	"bytes"
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/marquee-proxy/marquee/config"
	"github.com/marquee-proxy/marquee/decide"
	"github.com/marquee-proxy/marquee/profile"
)

func TestConfigFragment(t *testing.T) {
	cfg := parseDemo(t)
	for _, name := range []string{"gold", "silver", "electronics_fan", "likely_buyer", "cart_abandoner"} {
		if !slices.Contains(cfg.Segments.Names(), name) {
			t.Errorf("segment %q missing", name)
		}
	}
	slots := []string{"hero", "offer", "recs"}
	links := regexp.MustCompile(`href="(/[^"{]*)"`)
	ids := map[string]bool{}
	for _, cp := range cfg.Campaigns {
		if !slices.Contains(slots, cp.Slot) {
			t.Errorf("campaign %s: slot %q is not one of %q", cp.ID, cp.Slot, slots)
		}
		ids[cp.ID] = true
		templates := []string{cp.Template}
		if cp.Experiment != nil {
			for _, v := range cp.Experiment.Variants {
				templates = append(templates, v.Template)
			}
		}
		// Offers link into the shop; a dead link would be a 404 in the demo.
		for _, tmpl := range templates {
			for _, m := range links.FindAllStringSubmatch(tmpl, -1) {
				if !shopHasPage(m[1]) {
					t.Errorf("campaign %s links to %s, which the shop does not have", cp.ID, m[1])
				}
			}
		}
	}
	for _, id := range []string{"gold-hero", "silver-hero", "electronics-offer", "free-shipping", "electronics-recs", "cart-reminder", "picks", "welcome-test"} {
		if !ids[id] {
			t.Errorf("campaign %q missing", id)
		}
	}
	for _, key := range []string{"listen:", "origin:", "admin:"} {
		if bytes.Contains(Config(), []byte("\n"+key)) || bytes.HasPrefix(Config(), []byte(key)) {
			t.Errorf("fragment sets %s, which belongs to the demo command", key)
		}
	}
}

func shopHasPage(path string) bool {
	switch {
	case path == "/" || path == "/cart":
		return true
	case strings.HasPrefix(path, "/c/"):
		_, ok := findCategory(strings.TrimPrefix(path, "/c/"))
		return ok
	case strings.HasPrefix(path, "/p/"):
		_, ok := catalog().byID[strings.TrimPrefix(path, "/p/")]
		return ok
	}
	return false
}

// parseDemo parses the fragment as `marquee demo` does.
func parseDemo(t *testing.T) *config.Config {
	t.Helper()
	src := append([]byte("origin: http://127.0.0.1:1\n"), Config()...)
	cfg, err := config.Parse("demo.yaml", src)
	if err != nil {
		t.Fatalf("config.Parse: %v", err)
	}
	return cfg
}

// compileDemo runs the fragment through the same parsing and compilation
// `marquee serve` does.
func compileDemo(t *testing.T) *decide.Engine {
	t.Helper()
	e, err := decide.Compile(parseDemo(t))
	if err != nil {
		t.Fatalf("decide.Compile: %v", err)
	}
	return e
}

func TestConfigCompiles(t *testing.T) { compileDemo(t) }

// TestNamedSeedsSeeTheirCampaigns decides every slot for each named seed
// with the real engine, so the story NamedSeeds documents stays true when
// seeds or campaigns change.
func TestNamedSeedsSeeTheirCampaigns(t *testing.T) {
	e := compileDemo(t)
	want := map[string]map[string]string{ // seed → slot → campaign ("" = fallback)
		"Ada":   {"hero": "gold-hero", "offer": "electronics-offer", "recs": "electronics-recs"},
		"Bob":   {"hero": "welcome-test", "offer": "", "recs": "picks"},
		"Chloe": {"hero": "silver-hero", "offer": "", "recs": "picks"},
		"Dev":   {"hero": "welcome-test", "offer": "free-shipping", "recs": "picks"},
		"Eve":   {"hero": "gold-hero", "offer": "free-shipping", "recs": "picks"},
	}
	for _, s := range NamedSeeds() {
		var p profile.Profile
		if err := json.Unmarshal(s.Body, &p); err != nil {
			t.Fatalf("%s: %v", s.Name, err)
		}
		p.ID = s.ID
		d := e.Acquire(&p, []byte(s.ID), time.Now())
		for _, slot := range []string{"hero", "offer", "recs"} {
			got := ""
			c, ok := d.Choose(slot)
			if ok {
				got = c.Campaign.ID
				offer, err := d.AppendOffer(nil, c)
				if err != nil {
					t.Errorf("%s, campaign %s: %v", s.Name, got, err)
				}
				if bytes.Contains(offer, []byte("Welcome back")) || bytes.Contains(offer, []byte("Good to see you")) ||
					bytes.Contains(offer, []byte("Picked for you")) {
					if !bytes.Contains(offer, []byte(", "+s.Name+"<")) {
						t.Errorf("%s, campaign %s: %q does not greet by name", s.Name, got, offer)
					}
				}
			}
			if w := want[s.Name][slot]; got != w {
				t.Errorf("%s, slot %s: got campaign %q, want %q", s.Name, slot, got, w)
			}
			// The README's story: Bob and Dev are in the welcome test's
			// control arm, not its holdout.
			if got == "welcome-test" && (c.VariantName() != "discount" || !c.Variant.Control) {
				t.Errorf("%s: welcome-test arm %q, want the control, discount", s.Name, c.VariantName())
			}
		}
		if d.Errors != 0 {
			t.Errorf("%s: %d conditions failed at run time", s.Name, d.Errors)
		}
		d.Release()
	}
}
