package decide

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/marquee-proxy/marquee/profile"
)

// randomCatalog returns n products over cats categories with popularity
// drawn from a few values, so that ties are common.
func randomCatalog(t testing.TB, r *rand.Rand, n, cats int) *Catalog {
	t.Helper()
	var b strings.Builder
	for i := range n {
		var cs []string
		for range r.IntN(4) {
			cs = append(cs, fmt.Sprintf("%q", fmt.Sprintf("c%d", r.IntN(cats))))
		}
		fmt.Fprintf(&b, `{"id":"p%d","title":"P%d","categories":[%s],"popularity":%d}`+"\n", i, i, strings.Join(cs, ","), r.IntN(5))
	}
	c, err := ReadCatalog(strings.NewReader(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// randomProfile returns a visitor with views (some of categories the
// catalog lacks), model scores of either sign, a cart and purchases.
func randomProfile(r *rand.Rand, products, cats int, today int32) *profile.Profile {
	p := &profile.Profile{Views: map[string][]profile.DayCount{}, Scores: map[string]float64{}}
	for range r.IntN(5) {
		cat := fmt.Sprintf("c%d", r.IntN(cats+3))
		p.Views[cat] = append(p.Views[cat], profile.DayCount{Day: today - int32(r.IntN(30)), Count: int32(1 + r.IntN(5))})
	}
	for range r.IntN(4) {
		p.Scores[fmt.Sprintf("product:p%d", r.IntN(products+2))] = r.Float64()*2 - 1
	}
	p.Scores["propensity"] = 0.5
	for range r.IntN(3) {
		p.Cart.Items = append(p.Cart.Items, profile.CartItem{Product: fmt.Sprintf("p%d", r.IntN(products))})
	}
	for range r.IntN(3) {
		p.Purchases = append(p.Purchases, profile.Purchase{Product: fmt.Sprintf("p%d", r.IntN(products))})
	}
	return p
}

func ids(ps []Product) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.ID
	}
	return out
}

func TestRecommendMatchesFullScan(t *testing.T) {
	// Scoring only the products that can rank must give exactly the
	// ranking of scoring them all, ties included.
	r := rand.New(rand.NewPCG(1, 2))
	const today = 20000
	for trial := range 2000 {
		products, cats := 1+r.IntN(60), 1+r.IntN(8)
		c := randomCatalog(t, r, products, cats)
		p := randomProfile(r, products, cats, today)
		n := 1 + r.IntN(12)
		got, want := ids(c.Recommend(p, n, today, RecommendOptions{})), ids(c.recommend(p, n, today, RecommendOptions{}, true))
		if !slices.Equal(got, want) {
			t.Fatalf("trial %d (n=%d): got %v, full scan %v\nprofile %+v", trial, n, got, want, p)
		}
	}
}

func TestRecommend(t *testing.T) {
	c, err := ReadCatalog(strings.NewReader(`[
		{"id":"tv","categories":["electronics"],"popularity":5},
		{"id":"phone","categories":["electronics"],"popularity":9},
		{"id":"shoe","categories":["shoes"],"popularity":10},
		{"id":"sock","categories":["shoes","sale"],"popularity":1},
		{"id":"mug","categories":["home"],"popularity":3}
	]`))
	if err != nil {
		t.Fatal(err)
	}
	const today = 100
	tests := []struct {
		name string
		p    profile.Profile
		n    int
		want []string
	}{
		{"no history: most popular", profile.Profile{}, 3, []string{"shoe", "phone", "tv"}},
		{"category views first, popularity within", profile.Profile{Views: map[string][]profile.DayCount{"electronics": {{Day: today, Count: 3}}}}, 3, []string{"phone", "tv", "shoe"}},
		{"recent views outweigh old ones", profile.Profile{Views: map[string][]profile.DayCount{
			"home": {{Day: today, Count: 2}}, "electronics": {{Day: today - 28, Count: 4}}}}, 2, []string{"mug", "phone"}},
		{"two matching categories add up", profile.Profile{Views: map[string][]profile.DayCount{"shoes": {{Day: today, Count: 1}}, "sale": {{Day: today, Count: 1}}}}, 2, []string{"sock", "shoe"}},
		{"model score lifts a product", profile.Profile{Scores: map[string]float64{"product:mug": 0.5}}, 2, []string{"mug", "shoe"}},
		{"negative model score sinks one", profile.Profile{Scores: map[string]float64{"product:shoe": -1}}, 2, []string{"phone", "tv"}},
		{"purchased and in cart are left out", profile.Profile{
			Cart:      profile.Cart{Items: []profile.CartItem{{Product: "shoe"}}},
			Purchases: []profile.Purchase{{Product: "phone"}}}, 2, []string{"tv", "mug"}},
		{"n above the catalog", profile.Profile{}, 50, []string{"shoe", "phone", "tv", "mug", "sock"}},
		{"n of zero", profile.Profile{}, 0, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ids(c.Recommend(&tt.p, tt.n, today, RecommendOptions{})); !slices.Equal(got, tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
	var empty *Catalog
	if got := empty.Recommend(&profile.Profile{}, 3, today, RecommendOptions{}); got != nil {
		t.Fatalf("nil catalog: got %v", got)
	}
}

func BenchmarkRecommend(b *testing.B) {
	r := rand.New(rand.NewPCG(3, 4))
	const today = 20000
	c := randomCatalog(b, r, 100_000, 200)
	p := &profile.Profile{Views: map[string][]profile.DayCount{
		"c1": {{Day: today, Count: 3}}, "c7": {{Day: today - 3, Count: 1}}, "c42": {{Day: today - 10, Count: 2}},
	}, Scores: map[string]float64{"product:p17": 0.3}}
	for _, scanAll := range []bool{true, false} {
		name := "indexed"
		if scanAll {
			name = "full-scan"
		}
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				c.recommend(p, 6, today, RecommendOptions{}, scanAll)
			}
		})
	}
}

func FuzzReadCatalog(f *testing.F) {
	for _, seed := range []string{
		`[{"id":"tv","categories":["electronics"],"popularity":5},{"id":"sock","categories":["shoes","sale"],"popularity":1}]`,
		"{\"id\":\"a\",\"categories\":[\"x\",\"x\"]}\n{\"id\":\"b\",\"popularity\":-3}\n",
		"\xef\xbb\xbf[]",
		`[{"id":""}]`,
		`[{"id":"a"},{"id":"a"}]`,
		`{"id":"a","unknown":1}`,
		`[{"id":"a","popularity":1e400}]`,
		"",
	} {
		f.Add(seed)
	}
	const today = 20000
	visitor := &profile.Profile{
		Views:  map[string][]profile.DayCount{"x": {{Day: today, Count: 2}}, "electronics": {{Day: today - 9, Count: 1}}},
		Scores: map[string]float64{"product:b": 0.2, "product:tv": -0.1},
		Cart:   profile.Cart{Items: []profile.CartItem{{Product: "a"}}},
	}
	f.Fuzz(func(t *testing.T, data string) {
		c, err := ReadCatalog(strings.NewReader(data))
		if err != nil {
			return
		}
		for i := 1; i < c.Len(); i++ {
			if c.products[i-1].Popularity < c.products[i].Popularity {
				t.Fatalf("products not in popularity order at %d", i)
			}
		}
		for _, n := range []int{1, 3, 200} {
			got, want := ids(c.Recommend(visitor, n, today, RecommendOptions{})), ids(c.recommend(visitor, n, today, RecommendOptions{}, true))
			if !slices.Equal(got, want) {
				t.Fatalf("n=%d: got %v, full scan %v", n, got, want)
			}
		}
	})
}

func TestProductCategory(t *testing.T) {
	c, err := ReadCatalog(strings.NewReader(`[{"id":"Aero-Earbuds","categories":["Electronics","audio"]},{"id":"mug"},{"id":"abc","categories":["lower"]},{"id":"ABC","categories":["upper"]}]`))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		id, cat string
		ok      bool
	}{
		{"Aero-Earbuds", "Electronics", true}, // as written
		{"aero-earbuds", "Electronics", true}, // folded, as events are by default
		{"AERO-EARBUDS", "Electronics", true}, // kept case that differs
		{"mug", "", true},
		{"abc", "lower", true}, // an exact match wins over a folded one
		{"ABC", "upper", true},
		{"ghost", "", false},
	} {
		cat, ok := c.ProductCategory(tt.id)
		if cat != tt.cat || ok != tt.ok {
			t.Errorf("ProductCategory(%q) = %q, %v; want %q, %v", tt.id, cat, ok, tt.cat, tt.ok)
		}
	}
	var none *Catalog
	if _, ok := none.ProductCategory("mug"); ok {
		t.Error("a nil catalog has a product")
	}
}

// TestRecommendFoldsCategories: views recorded by events, whose categories
// are lower-cased by default, match a catalog's capitalised categories.
func TestRecommendFoldsCategories(t *testing.T) {
	c, err := ReadCatalog(strings.NewReader(`[
		{"id":"tv","categories":["Electronics"],"popularity":3},
		{"id":"shoe","categories":["Shoes"],"popularity":10},
		{"id":"twice","categories":["Home","home "],"popularity":2}
	]`))
	if err != nil {
		t.Fatal(err)
	}
	const today = 100
	views := func(kv ...any) profile.Profile {
		p := profile.Profile{Views: map[string][]profile.DayCount{}}
		for i := 0; i < len(kv); i += 2 {
			p.Views[kv[i].(string)] = []profile.DayCount{{Day: today, Count: int32(kv[i+1].(int))}}
		}
		return p
	}
	for _, tt := range []struct {
		name string
		p    profile.Profile
		want string
	}{
		{"folded view matches", views("electronics", 1), "tv"},
		{"kept-case views add up", views("Electronics", 1, "electronics", 1, "shoes", 1), "tv"},
		{"a category named twice counts once", views("home", 1, "electronics", 1), "tv"},
	} {
		got := c.Recommend(&tt.p, 1, today, RecommendOptions{})
		if len(got) != 1 || got[0].ID != tt.want {
			t.Errorf("%s: got %v, want %s", tt.name, got, tt.want)
		}
	}
}
