package demo

import (
	"cmp"
	"encoding/json"
	"slices"
	"sync"

	"github.com/marquee-proxy/marquee/decide"
)

// Product is one item of the demo catalog: the catalog entry type of the
// decision engine, so the demo's catalog feeds recommendations as it is.
// URL is the product page's path on the demo shop, Image the path of a
// generated SVG the shop serves (it needs no files and no network), Price in US
// dollars, and the first category the product's home, used for
// breadcrumbs and X-Demo-Category.
type Product = decide.Product

// category is one department of the shop.
type category struct {
	slug, name, blurb string
}

// categories are the shop's departments in navigation order.
var categories = []category{
	{"electronics", "Electronics", "Gadgets that earn their place in your bag."},
	{"outdoor", "Outdoor", "Kit for trails, camps and long weekends."},
	{"kitchen", "Kitchen", "Tools for slow breakfasts and fast dinners."},
	{"books", "Books", "Field guides, cookbooks and a few good stories."},
	{"fashion", "Fashion", "Layers that work in town and on the hill."},
}

// item is a catalog row as written here; Product adds what is derived from
// it (URL, image). blurb is shop copy, not part of the catalog file.
type item struct {
	id, title  string
	price      float64
	categories []string
	tags       []string
	popularity int
	blurb      string
}

// items is the catalog. Popularity values are distinct so every ranking is
// total and the pages are the same on every run.
var items = []item{
	{"aero-earbuds", "Aero Wireless Earbuds", 79, []string{"electronics"}, []string{"audio", "wireless", "bestseller"}, 95, "Eight hours of music, a case that fits a coin pocket, and noise cancelling that knows when you speak."},
	{"volt-powerbank", "Volt Solar Power Bank", 49, []string{"electronics", "outdoor"}, []string{"solar", "charging", "travel"}, 72, "10,000 mAh that tops itself up on the pack lid while you walk."},
	{"lumen-lamp", "Lumen Smart Desk Lamp", 59, []string{"electronics"}, []string{"smart-home", "lighting"}, 54, "Warm in the evening, bright at nine, and it follows your calendar if you let it."},
	{"pulse-watch", "Pulse Fitness Watch", 199, []string{"electronics"}, []string{"wearable", "fitness", "gps"}, 88, "GPS, heart rate and a battery that lasts a fortnight of training."},
	{"echo-speaker", "Echo Pocket Speaker", 39, []string{"electronics"}, []string{"audio", "bluetooth", "waterproof"}, 67, "Small enough for a jacket pocket, loud enough for a campsite."},
	{"nova-ereader", "Nova E-Reader", 129, []string{"electronics", "books"}, []string{"reading", "e-ink"}, 61, "A glare-free screen and weeks between charges."},

	{"ridge-tent", "Ridge 2-Person Tent", 229, []string{"outdoor"}, []string{"camping", "lightweight"}, 58, "Pitches in four minutes, weighs under two kilos, sheds a storm."},
	{"trail-headlamp", "Trail Headlamp 400", 34, []string{"outdoor"}, []string{"camping", "lighting", "running"}, 76, "400 lumens, a red night mode and a strap that stays put."},
	{"summit-pack", "Summit 30L Daypack", 89, []string{"outdoor"}, []string{"hiking", "travel"}, 70, "A ventilated back, a rain cover and a pocket for everything."},
	{"cascade-bottle", "Cascade Insulated Bottle", 29, []string{"outdoor", "kitchen"}, []string{"hydration", "steel"}, 83, "Cold for a day, hot for half of one, and it never tastes of metal."},
	{"ember-stove", "Ember Camp Stove", 64, []string{"outdoor"}, []string{"camping", "cooking"}, 41, "Boils a litre in three minutes and folds to the size of a fist."},
	{"drift-hammock", "Drift Travel Hammock", 45, []string{"outdoor"}, []string{"camping", "relax"}, 37, "Two trees and a minute is all it asks."},

	{"forge-knife", "Forge Chef's Knife", 95, []string{"kitchen"}, []string{"steel", "prep"}, 64, "Forged steel, balanced at the bolster, sharp out of the box."},
	{"brew-press", "Brew French Press", 35, []string{"kitchen"}, []string{"coffee"}, 71, "Double-walled glass and a mesh that keeps the grounds where they belong."},
	{"hearth-skillet", "Hearth Cast-Iron Skillet", 49, []string{"kitchen"}, []string{"cast-iron", "cooking"}, 60, "Seasoned, heavy and ready for the next fifty years."},
	{"spice-atlas", "Spice Atlas Set", 27, []string{"kitchen"}, []string{"gift", "spices"}, 45, "Twelve blends from twelve kitchens, with a recipe card each."},
	{"bamboo-board", "Bamboo Cutting Board", 22, []string{"kitchen"}, []string{"prep", "sustainable"}, 50, "Kind to knives, quick to dry, grown in four years."},
	{"pour-kettle", "Pour-Over Kettle", 42, []string{"kitchen"}, []string{"coffee", "tea"}, 55, "A gooseneck spout for a slow, even pour."},

	{"wild-maps", "Wild Maps: A Hiker's Atlas", 32, []string{"books", "outdoor"}, []string{"hiking", "atlas"}, 39, "Forty routes, hand-drawn, with notes on where the water is."},
	{"salt-fire", "Salt & Fire Cookbook", 28, []string{"books", "kitchen"}, []string{"cooking", "recipes"}, 66, "Cooking over flame, at home and under the sky."},
	{"quiet-code", "The Quiet Code", 24, []string{"books"}, []string{"novel", "mystery"}, 74, "A programmer, a lighthouse and a message that should not exist."},
	{"small-steps", "Small Steps, Big Trails", 19, []string{"books"}, []string{"self-help", "hiking"}, 48, "How a daily walk became a thru-hike, and what it changed."},
	{"curious-circuits", "Circuits for Curious Kids", 21, []string{"books"}, []string{"kids", "science"}, 35, "Twenty projects with a battery, a bulb and a lot of questions."},
	{"night-sky", "The Night Sky Field Guide", 26, []string{"books"}, []string{"astronomy", "guide"}, 43, "What is up there tonight, and how to find it without an app."},

	{"storm-jacket", "Storm Shell Rain Jacket", 149, []string{"fashion", "outdoor"}, []string{"waterproof", "outerwear"}, 80, "Three layers, taped seams and a hood that turns with your head."},
	{"merino-tee", "Merino Crew Tee", 55, []string{"fashion"}, []string{"merino", "basics"}, 69, "Soft, warm when wet and fine to wear three days running."},
	{"canvas-tote", "Canvas Market Tote", 25, []string{"fashion"}, []string{"bags", "sustainable"}, 52, "Heavy canvas and leather handles, for markets and libraries."},
	{"trail-sneaker", "Trail Runner Sneakers", 119, []string{"fashion"}, []string{"running", "footwear"}, 77, "Grip for mud, cushion for tarmac, looks for the pub after."},
	{"wool-beanie", "Wool Rib Beanie", 22, []string{"fashion"}, []string{"winter", "accessories"}, 46, "Knitted from undyed wool, one size that really fits all."},
	{"denim-overshirt", "Denim Overshirt", 79, []string{"fashion"}, []string{"denim", "layers"}, 57, "Heavy denim cut as a shirt, worn as a jacket."},
}

// featuredIDs are the products on the home page, in order: a mix of
// departments, as a merchandiser would pick them.
var featuredIDs = []string{
	"pulse-watch", "storm-jacket", "ridge-tent", "brew-press",
	"quiet-code", "aero-earbuds", "hearth-skillet", "trail-sneaker",
}

// catalog holds everything derived from items, built once: images are
// rendered and indexes sorted on first use instead of at init, so importing
// the package costs nothing.
var catalog = sync.OnceValue(func() *catalogIndex {
	c := &catalogIndex{byID: make(map[string]int, len(items)), images: make(map[string][]byte, len(items))}
	for i, it := range items {
		c.images[imagePath(it.id)] = productImage(it.id, it.title, it.categories[0])
		c.products = append(c.products, Product{
			ID:         it.id,
			Title:      it.title,
			URL:        "/p/" + it.id,
			Image:      imagePath(it.id),
			Price:      it.price,
			Categories: it.categories,
			Tags:       it.tags,
			Popularity: float64(it.popularity),
		})
		c.byID[it.id] = i
	}
	c.byPopularity = make([]int, len(items))
	for i := range c.byPopularity {
		c.byPopularity[i] = i
	}
	slices.SortFunc(c.byPopularity, func(a, b int) int {
		return cmp.Or(cmp.Compare(items[b].popularity, items[a].popularity), cmp.Compare(items[a].id, items[b].id))
	})
	var err error
	c.json, err = json.Marshal(c.products)
	if err != nil {
		panic("demo: catalog does not marshal: " + err.Error()) // static data: a test catches it
	}
	return c
})

type catalogIndex struct {
	products     []Product
	byID         map[string]int
	byPopularity []int // indexes into products, most popular first
	json         []byte
	images       map[string][]byte // image path → SVG
}

// Products returns the catalog in catalog order. The result is a copy the
// caller may modify.
func Products() []Product {
	c := catalog()
	out := make([]Product, len(c.products))
	for i, p := range c.products {
		p.Categories = slices.Clone(p.Categories)
		p.Tags = slices.Clone(p.Tags)
		out[i] = p
	}
	return out
}

// Categories returns the category slugs in navigation order.
func Categories() []string {
	out := make([]string, len(categories))
	for i, c := range categories {
		out[i] = c.slug
	}
	return out
}

// CatalogJSON returns the catalog as a JSON array of products, the format of
// a catalog file. The result is a copy the caller may modify.
func CatalogJSON() []byte {
	return slices.Clone(catalog().json)
}

// findCategory returns the category with the given slug.
func findCategory(slug string) (category, bool) {
	for _, c := range categories {
		if c.slug == slug {
			return c, true
		}
	}
	return category{}, false
}

// inCategory reports whether item i is listed in category slug.
func inCategory(i int, slug string) bool {
	return slices.Contains(items[i].categories, slug)
}
