package decide

import (
	"maps"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/marquee-proxy/marquee/profile"
)

// affinityHalfLife is how fast old category views fade from affinity.
const affinityHalfLife = 7.0 // days

// RecommendOptions say which products a recommendation may return besides
// those it ranks. The zero value leaves out the page's product and the
// visitor's recently viewed ones.
type RecommendOptions struct {
	// Page is the product of the page being served, by id; "" when the
	// page is not a product's. It is left out unless IncludeViewed.
	Page string
	// IncludeViewed keeps Page and the products in the profile's Recent
	// list (config recommend_viewed).
	IncludeViewed bool
}

// Recommend returns up to n products for p: ranked by the visitor's
// category affinity (views in daily buckets, each day's weight halving every
// week), plus imported model scores named "product:ID" in p.Scores, then
// popularity; purchased and in-cart products are left out, and so are
// o.Page and the products in p.Recent unless o.IncludeViewed. A visitor
// with no history gets the most popular products.
func (c *Catalog) Recommend(p *profile.Profile, n int, today int32, o RecommendOptions) []Product {
	return c.recommend(p, n, today, o, false)
}

// recommend is Recommend, scoring every product when scanAll is set
// instead of only those that can rank.
func (c *Catalog) recommend(p *profile.Profile, n int, today int32, o RecommendOptions, scanAll bool) []Product {
	if c == nil || n <= 0 || len(c.products) == 0 {
		return nil
	}
	n = min(n, 100)
	// Affinity per category the catalog has; total also counts views of
	// categories it lacks, which dilute the others.
	type catWeight struct {
		cat int32
		w   float64
	}
	var affinity []catWeight
	total := 0.0
	negative := false
	// In name order: sums in map order would differ in their last bits
	// from call to call and flip ties between nodes or renders.
	for _, cat := range slices.Sorted(maps.Keys(p.Views)) {
		buckets := p.Views[cat]
		w := 0.0
		for _, b := range buckets {
			age := float64(today - b.Day)
			if age < 0 {
				age = 0
			}
			w += float64(b.Count) * math.Exp2(-age/affinityHalfLife)
		}
		total += w
		negative = negative || w < 0
		if k, ok := c.cats[foldID(cat)]; ok && w != 0 {
			// Views kept in two cases (events.keep_case) add up.
			if j := slices.IndexFunc(affinity, func(a catWeight) bool { return a.cat == k }); j >= 0 {
				affinity[j].w += w
			} else {
				affinity = append(affinity, catWeight{k, w})
			}
		}
	}
	exclude := map[string]bool{}
	for _, it := range p.Cart.Items {
		exclude[it.Product] = true
	}
	for _, pu := range p.Purchases {
		exclude[pu.Product] = true
	}
	if !o.IncludeViewed {
		// By catalog id: Recent holds ids as events recorded them,
		// folded unless events.keep_case is set.
		for _, id := range p.Recent {
			if i, ok := c.lookup(id); ok {
				exclude[c.products[i].ID] = true
			}
		}
		if i, ok := c.lookup(o.Page); ok && o.Page != "" {
			exclude[c.products[i].ID] = true
		}
	}
	modelScore := func(pr *Product) (float64, bool) {
		v, ok := p.Scores["product:"+pr.ID]
		return v, ok
	}

	// Candidates: products in the visitor's categories, products with a
	// model score, and the most popular of the rest. A product outside all
	// three scores its popularity term alone, and the first n popular
	// products without a model score score at least theirs and come
	// earlier on ties, so it cannot make the top n.
	var cand []int32
	if scanAll || negative {
		// Malformed negative counts break that argument: score everything.
		cand = make([]int32, len(c.products))
		for i := range cand {
			cand[i] = int32(i)
		}
	} else {
		for _, a := range affinity {
			cand = append(cand, c.byCat[a.cat]...)
		}
		for k := range p.Scores {
			if id, ok := strings.CutPrefix(k, "product:"); ok {
				if i, ok := c.byID[id]; ok {
					cand = append(cand, i)
				}
			}
		}
		for i, found := 0, 0; i < len(c.products) && found < n; i++ {
			pr := &c.products[i]
			if exclude[pr.ID] {
				continue
			}
			cand = append(cand, int32(i))
			if _, scored := modelScore(pr); !scored {
				found++
			}
		}
		slices.Sort(cand)
		cand = slices.Compact(cand)
	}

	type scored struct {
		i     int32
		score float64
	}
	top := make([]scored, 0, n+1)
	for _, i := range cand {
		pr := &c.products[i]
		if exclude[pr.ID] {
			continue
		}
		s := 0.0
		if total > 0 {
			for _, cat := range c.prodCats[i] {
				w := 0.0
				for _, a := range affinity {
					if a.cat == cat {
						w = a.w
						break
					}
				}
				s += w / total
			}
		}
		ms, _ := modelScore(pr)
		s += ms
		if c.maxPop > 0 {
			// Popularity only breaks ties between equal affinities.
			s += 1e-3 * pr.Popularity / c.maxPop
		}
		if len(top) == n && s <= top[n-1].score {
			continue
		}
		j := sort.Search(len(top), func(k int) bool { return top[k].score < s })
		top = append(top, scored{})
		copy(top[j+1:], top[j:])
		top[j] = scored{i, s}
		if len(top) > n {
			top = top[:n]
		}
	}
	out := make([]Product, len(top))
	for k, t := range top {
		out[k] = c.products[t.i]
	}
	return out
}
