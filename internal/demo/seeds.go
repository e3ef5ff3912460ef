package demo

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math"
	"math/rand/v2"
)

// Seed is one visitor profile to load into the demo's profile store.
type Seed struct {
	// ID is the visitor id: 16 bytes, base64url without padding (22
	// characters), the id a visitor cookie carries.
	ID string
	// Name labels the person in the demo's printout; attrs.name in Body is
	// the first name of it.
	Name string
	// Body is the JSON body for PUT /v1/profiles/{ID} on the admin API:
	// {"attrs":{...},"scores":{...}}, attribute values being strings,
	// numbers or booleans.
	Body []byte
}

// profileBody is the admin API's profile document, as far as seeds fill it.
// Maps marshal with sorted keys, so bodies are byte-for-byte reproducible.
type profileBody struct {
	Attrs  map[string]any     `json:"attrs"`
	Scores map[string]float64 `json:"scores"`
}

// seedID derives a visitor id from a name, so the named seeds have the same
// id on every run and the demo can mint their cookies without storing them.
func seedID(name string) string {
	sum := sha256.Sum256([]byte("marquee-demo:" + name))
	return base64.RawURLEncoding.EncodeToString(sum[:16])
}

// namedSeed is a person of the demo script, before encoding.
type namedSeed struct {
	name   string
	attrs  map[string]any
	scores map[string]float64
}

// namedSeeds are chosen so that, with the campaigns of demo.yaml, each person
// sees a different page:
//
//	Ada   gold, electronics   gold hero, electronics offer, electronics recs
//	Bob   basic, kitchen      welcome test's control arm (discount)
//	Chloe silver, outdoor     silver hero
//	Dev   basic, books        welcome test's control arm, free-shipping offer (propensity 0.91)
//	Eve   gold, fashion       gold hero, free-shipping offer (propensity 0.84)
var namedSeeds = []namedSeed{
	{"Ada", map[string]any{"name": "Ada", "tier": "gold", "favourite": "electronics", "city": "London", "visits": 42, "newsletter": true},
		map[string]float64{"propensity": 0.55, "churn": 0.05}},
	{"Bob", map[string]any{"name": "Bob", "tier": "basic", "favourite": "kitchen", "city": "Leeds", "visits": 7, "bargain_hunter": true, "newsletter": false},
		map[string]float64{"propensity": 0.12, "churn": 0.40}},
	{"Chloe", map[string]any{"name": "Chloe", "tier": "silver", "favourite": "outdoor", "city": "Edinburgh", "visits": 1, "new_visitor": true},
		map[string]float64{"propensity": 0.30, "churn": 0.20}},
	{"Dev", map[string]any{"name": "Dev", "tier": "basic", "favourite": "books", "city": "Bristol", "visits": 18, "newsletter": true},
		map[string]float64{"propensity": 0.91, "churn": 0.10}},
	{"Eve", map[string]any{"name": "Eve", "tier": "gold", "favourite": "fashion", "city": "Manchester", "visits": 63, "newsletter": true},
		map[string]float64{"propensity": 0.84, "churn": 0.03}},
}

// NamedSeeds returns the demo's named visitors (Ada, Bob, Chloe, Dev, Eve),
// each with an id derived from the name, so they are the same on every run.
// With the campaigns of [Config], Ada sees the gold greeting, the
// electronics offer and electronics recommendations; Bob the welcome
// test's control arm (discount); Chloe the silver hero; Dev the control arm
// and the free-shipping offer; Eve the gold greeting and the free-shipping
// offer.
func NamedSeeds() []Seed {
	out := make([]Seed, len(namedSeeds))
	for i, s := range namedSeeds {
		out[i] = Seed{ID: seedID(s.name), Name: s.name, Body: encodeBody(s.attrs, s.scores)}
	}
	return out
}

// Pools for generated profiles.
var (
	firstNames = []string{
		"Aisha", "Ben", "Carla", "Daniel", "Elif", "Farah", "George", "Hana", "Ivan", "Jade",
		"Kofi", "Lena", "Mateo", "Nina", "Oscar", "Priya", "Quinn", "Rosa", "Sam", "Tomás",
		"Uma", "Victor", "Wen", "Yusuf", "Zoe",
	}
	lastInitials = "ABCDEFGHIJKLMNOPRSTW"
	cities       = []string{
		"London", "Manchester", "Birmingham", "Leeds", "Glasgow", "Bristol", "Cardiff",
		"Edinburgh", "Belfast", "Liverpool", "Newcastle", "Brighton",
	}
	// favouriteWeights skews favourite categories the way shop traffic is
	// skewed, in the order of categories.
	favouriteWeights = []int{30, 25, 20, 10, 15}
)

// GeneratedSeeds returns n made-up visitors, the same for the same seed:
// about 10% gold, 25% silver and 65% basic, each with a name, city,
// favourite category, visit count and newsletter flag, and propensity and
// churn scores in [0, 1] (propensity skewed low, as real buyers are rare).
// Ids are random 16-byte values from the seeded generator, so they look like
// minted visitor ids. n <= 0 returns nil.
func GeneratedSeeds(n int, seed int64) []Seed {
	if n <= 0 {
		return nil
	}
	rng := rand.New(rand.NewPCG(uint64(seed), 0x6d61727175656500)) // "marquee\0": a fixed stream
	cats := Categories()
	totalWeight := 0
	for _, w := range favouriteWeights {
		totalWeight += w
	}
	out := make([]Seed, n)
	for i := range out {
		var id [16]byte
		for j := 0; j < len(id); j += 8 {
			v := rng.Uint64()
			for k := range 8 {
				id[j+k] = byte(v >> (8 * k))
			}
		}
		first := firstNames[rng.IntN(len(firstNames))]
		label := first + " " + string(lastInitials[rng.IntN(len(lastInitials))]) + "."
		tier := "basic"
		switch r := rng.IntN(100); {
		case r < 10:
			tier = "gold"
		case r < 35:
			tier = "silver"
		}
		fav := cats[len(cats)-1]
		for k, w := 0, rng.IntN(totalWeight); k < len(cats); k++ {
			if w < favouriteWeights[k] {
				fav = cats[k]
				break
			}
			w -= favouriteWeights[k]
		}
		p := rng.Float64()
		attrs := map[string]any{
			"name":       first,
			"tier":       tier,
			"city":       cities[rng.IntN(len(cities))],
			"favourite":  fav,
			"visits":     1 + rng.IntN(60),
			"newsletter": rng.IntN(3) == 0,
		}
		scores := map[string]float64{
			"propensity": round3(p * p),
			"churn":      round3(rng.Float64()),
		}
		out[i] = Seed{
			ID:   base64.RawURLEncoding.EncodeToString(id[:]),
			Name: label,
			Body: encodeBody(attrs, scores),
		}
	}
	return out
}

// encodeBody marshals a profile document. It only ever sees the maps built in
// this file, whose values always marshal.
func encodeBody(attrs map[string]any, scores map[string]float64) []byte {
	b, err := json.Marshal(profileBody{Attrs: attrs, Scores: scores})
	if err != nil {
		panic("demo: seed does not marshal: " + err.Error())
	}
	return b
}

func round3(f float64) float64 { return math.Round(f*1000) / 1000 }
