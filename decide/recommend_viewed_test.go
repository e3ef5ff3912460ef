package decide

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/marquee-proxy/marquee/config"
	"github.com/marquee-proxy/marquee/profile"
)

// viewedCatalog is a small shop: four electronics products, a mug and two
// cups, with product page urls, relative, absolute and told apart only by
// their query.
const viewedCatalog = `[
	{"id":"tv","url":"/p/tv","categories":["electronics"],"popularity":5},
	{"id":"phone","url":"https://shop.example/p/phone/","categories":["electronics"],"popularity":9},
	{"id":"watch","url":"/p/watch","categories":["electronics"],"popularity":7},
	{"id":"Radio","url":"/p/radio","categories":["electronics"],"popularity":2},
	{"id":"mug","url":"/p/mug","categories":["home"],"popularity":1},
	{"id":"cup-1","url":"/item?id=1","categories":["home"],"popularity":0},
	{"id":"cup-2","url":"/item?id=2","categories":["home"],"popularity":0}
]`

func TestRecommendLeavesOutViewed(t *testing.T) {
	c, err := ReadCatalog(strings.NewReader(viewedCatalog))
	if err != nil {
		t.Fatal(err)
	}
	const today = 100
	fan := func(recent ...string) profile.Profile {
		return profile.Profile{Views: map[string][]profile.DayCount{"electronics": {{Day: today, Count: 4}}}, Recent: recent}
	}
	tests := []struct {
		name string
		p    profile.Profile
		o    RecommendOptions
		n    int
		want []string
	}{
		{"nothing viewed, no product page", fan(), RecommendOptions{}, 4, []string{"phone", "watch", "tv", "Radio"}},
		{"the page's product", fan(), RecommendOptions{Page: "phone"}, 3, []string{"watch", "tv", "Radio"}},
		{"viewed products", fan("watch", "tv"), RecommendOptions{}, 3, []string{"phone", "Radio", "mug"}},
		{"viewed ids folded by events", fan("radio"), RecommendOptions{}, 4, []string{"phone", "watch", "tv", "mug"}},
		{"both", fan("watch"), RecommendOptions{Page: "phone"}, 3, []string{"tv", "Radio", "mug"}},
		{"the page viewed before", fan("phone"), RecommendOptions{Page: "phone"}, 4, []string{"watch", "tv", "Radio", "mug"}},
		{"viewed products not in the catalog", fan("kettle"), RecommendOptions{Page: "kettle"}, 2, []string{"phone", "watch"}},
		{"switch on", fan("watch"), RecommendOptions{Page: "phone", IncludeViewed: true}, 3, []string{"phone", "watch", "tv"}},
		{"fewer candidates than slots", fan("watch", "tv", "mug", "cup-1"), RecommendOptions{Page: "phone"}, 4, []string{"Radio", "cup-2"}},
		{"every product left out", fan("watch", "tv", "mug", "radio", "cup-1", "cup-2"), RecommendOptions{Page: "phone"}, 4, []string{}},
		{"popular ones for a new visitor, less the page's", profile.Profile{}, RecommendOptions{Page: "phone"}, 2, []string{"watch", "tv"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ids(c.Recommend(&tt.p, tt.n, today, tt.o))
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
			// The candidate shortcut must agree with scoring everything.
			if full := ids(c.recommend(&tt.p, tt.n, today, tt.o, true)); !slices.Equal(got, full) {
				t.Errorf("got %v, full scan %v", got, full)
			}
		})
	}
}

func TestPageProduct(t *testing.T) {
	c, err := ReadCatalog(strings.NewReader(viewedCatalog))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path, want string
		ok         bool
	}{
		{"/p/tv", "tv", true},
		{"/p/tv/", "tv", true},
		{"/p/phone", "phone", true}, // an absolute url's path
		{"/p/radio", "Radio", true},
		{"/p/TV", "", false},
		{"/item", "", false}, // two products' urls share it
		{"/p", "", false},
		{"/", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		if got, ok := c.PageProduct(tt.path); got != tt.want || ok != tt.ok {
			t.Errorf("PageProduct(%q) = %q, %v; want %q, %v", tt.path, got, ok, tt.want, tt.ok)
		}
	}
	var none *Catalog
	if _, ok := none.PageProduct("/p/tv"); ok {
		t.Error("a nil catalog has a product")
	}
}

// TestRecommendTemplateOnProductPage renders a recommending offer on
// product pages, as a proxy does: the page's product and what the visitor
// viewed are left out unless recommend_viewed is set, and the offer
// remembered for one page is not served on another.
func TestRecommendTemplateOnProductPage(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "c.json"), []byte(viewedCatalog), 0o600); err != nil {
		t.Fatal(err)
	}
	compile := func(t *testing.T, extra string) *Engine {
		t.Helper()
		doc := "origin: http://o:1\ncatalog: c.json\n" + extra + `campaigns:
  - {id: recs, slot: recs, template: '{{range recommend 3}}{{.ID}} {{end}}'}
`
		if err := os.WriteFile(filepath.Join(dir, "m.yaml"), []byte(doc), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg, err := config.Load(filepath.Join(dir, "m.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		e, err := Compile(cfg)
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	fan := &profile.Profile{Views: map[string][]profile.DayCount{"electronics": {{Day: DayIndex(testNow, testNow.Location()), Count: 4}}}, Recent: []string{"watch"}}
	tests := []struct {
		name, config, path, want string
	}{
		{"a product page", "", "/p/tv", "phone Radio mug "},
		{"another product page, same profile", "", "/p/phone", "tv Radio mug "},
		{"not a product page", "", "/c/electronics", "phone tv Radio "},
		{"recommend_viewed", "recommend_viewed: true\n", "/p/tv", "phone watch tv "},
	}
	engines := map[string]*Engine{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, ok := engines[tt.config]
			if !ok {
				e = compile(t, tt.config)
				engines[tt.config] = e
			}
			ctx := &fakeContext{req: RequestInfo{Path: tt.path}}
			d := e.Acquire(fan, []byte("visitor"), testNow)
			defer d.Release()
			d.SetContext(ctx)
			out, err := d.AppendOffer(nil, first(d.Choose("recs")))
			if err != nil {
				t.Fatal(err)
			}
			if string(out) != tt.want {
				t.Errorf("got %q, want %q", out, tt.want)
			}
		})
	}
}
