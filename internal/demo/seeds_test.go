package demo

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"slices"
	"testing"
)

// checkSeed checks the id format and the body shape the admin API takes.
func checkSeed(t *testing.T, s Seed) map[string]any {
	t.Helper()
	id, err := base64.RawURLEncoding.DecodeString(s.ID)
	if err != nil || len(id) != 16 || len(s.ID) != 22 {
		t.Errorf("%s: id %q is not 16 bytes of base64url without padding (err %v)", s.Name, s.ID, err)
	}
	var body struct {
		Attrs  map[string]any     `json:"attrs"`
		Scores map[string]float64 `json:"scores"`
	}
	dec := json.NewDecoder(bytes.NewReader(s.Body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		t.Errorf("%s: body %s: %v", s.Name, s.Body, err)
		return nil
	}
	for k, v := range body.Attrs {
		switch v.(type) {
		case string, float64, bool:
		default:
			t.Errorf("%s: attrs.%s is %T, want string, number or bool", s.Name, k, v)
		}
	}
	for _, k := range []string{"name", "tier", "favourite", "city"} {
		if _, ok := body.Attrs[k].(string); !ok {
			t.Errorf("%s: attrs.%s missing or not a string", s.Name, k)
		}
	}
	if tier, _ := body.Attrs["tier"].(string); !slices.Contains([]string{"gold", "silver", "basic"}, tier) {
		t.Errorf("%s: tier %v", s.Name, body.Attrs["tier"])
	}
	if fav, _ := body.Attrs["favourite"].(string); !slices.Contains(Categories(), fav) {
		t.Errorf("%s: favourite %v is not a category", s.Name, body.Attrs["favourite"])
	}
	if p, ok := body.Scores["propensity"]; !ok || p < 0 || p > 1 {
		t.Errorf("%s: propensity %v, want in [0, 1]", s.Name, p)
	}
	return body.Attrs
}

func TestNamedSeeds(t *testing.T) {
	// The ids are part of the demo's script: changing them breaks cookies
	// printed in earlier runs.
	want := map[string]string{
		"Ada":   "AVcCXIyPiPN6Pyb2tIp83w",
		"Bob":   "QgypYMIiCAwcR-ZxPkUq3Q",
		"Chloe": "vSRuxJv1kBqx3LN7EMafKw",
		"Dev":   "q5g32pTfnocVTi3XzgqytA",
		"Eve":   "U_RIhfSk_5KT3UCqAQ04Vg",
	}
	seeds := NamedSeeds()
	if len(seeds) != len(want) {
		t.Fatalf("got %d named seeds, want %d", len(seeds), len(want))
	}
	ids := map[string]bool{}
	for _, s := range seeds {
		attrs := checkSeed(t, s)
		sum := sha256.Sum256([]byte("marquee-demo:" + s.Name))
		if derived := base64.RawURLEncoding.EncodeToString(sum[:16]); s.ID != derived {
			t.Errorf("%s: id %q, want %q derived from the name", s.Name, s.ID, derived)
		}
		if w, ok := want[s.Name]; !ok || s.ID != w {
			t.Errorf("%s: id %q, want %q", s.Name, s.ID, w)
		}
		if attrs["name"] != s.Name {
			t.Errorf("%s: attrs.name %v", s.Name, attrs["name"])
		}
		ids[s.ID] = true
	}
	if len(ids) != len(seeds) {
		t.Error("named seeds share an id")
	}
	again := NamedSeeds()
	for i := range seeds {
		if seeds[i].ID != again[i].ID || !bytes.Equal(seeds[i].Body, again[i].Body) {
			t.Errorf("%s: NamedSeeds is not stable", seeds[i].Name)
		}
	}
}

func TestGeneratedSeeds(t *testing.T) {
	const n = 1000
	a, b := GeneratedSeeds(n, 42), GeneratedSeeds(n, 42)
	if len(a) != n {
		t.Fatalf("got %d seeds, want %d", len(a), n)
	}
	tiers := map[string]int{}
	ids := map[string]bool{}
	for _, s := range NamedSeeds() {
		ids[s.ID] = true
	}
	for i := range a {
		if a[i].ID != b[i].ID || a[i].Name != b[i].Name || !bytes.Equal(a[i].Body, b[i].Body) {
			t.Fatalf("seed %d differs between two runs with the same seed", i)
		}
		attrs := checkSeed(t, a[i])
		if attrs != nil {
			tiers[attrs["tier"].(string)]++
		}
		if ids[a[i].ID] {
			t.Errorf("seed %d: id %q repeated", i, a[i].ID)
		}
		ids[a[i].ID] = true
	}
	// The split is skewed like a real loyalty scheme: few gold, most basic.
	if !(tiers["gold"] < tiers["silver"] && tiers["silver"] < tiers["basic"] && tiers["gold"] > 0) {
		t.Errorf("tier split %v, want 0 < gold < silver < basic", tiers)
	}
	if c := GeneratedSeeds(n, 43); c[0].ID == a[0].ID {
		t.Error("seeds 42 and 43 generate the same first id")
	}
	for _, k := range []int{0, -1} {
		if got := GeneratedSeeds(k, 1); got != nil {
			t.Errorf("GeneratedSeeds(%d) = %d seeds, want nil", k, len(got))
		}
	}
}
