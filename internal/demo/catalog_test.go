package demo

import (
	"encoding/json"
	"slices"
	"testing"
)

func TestCatalogJSON(t *testing.T) {
	var got []map[string]any
	if err := json.Unmarshal(CatalogJSON(), &got); err != nil {
		t.Fatalf("CatalogJSON does not decode: %v", err)
	}
	if len(got) != len(Products()) {
		t.Fatalf("got %d products, want %d", len(got), len(Products()))
	}
	want := []string{"categories", "id", "image", "popularity", "price", "tags", "title", "url"}
	for i, p := range got {
		var keys []string
		for k := range p {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		if !slices.Equal(keys, want) {
			t.Errorf("product %d: keys %q, want %q", i, keys, want)
		}
	}
	var typed []Product
	if err := json.Unmarshal(CatalogJSON(), &typed); err != nil {
		t.Fatal(err)
	}
	if !slicesEqualProducts(typed, Products()) {
		t.Error("CatalogJSON does not round-trip to Products()")
	}
}

func slicesEqualProducts(a, b []Product) bool {
	return slices.EqualFunc(a, b, func(x, y Product) bool {
		return x.ID == y.ID && x.Title == y.Title && x.URL == y.URL && x.Image == y.Image &&
			x.Price == y.Price && x.Popularity == y.Popularity &&
			slices.Equal(x.Categories, y.Categories) && slices.Equal(x.Tags, y.Tags)
	})
}

func TestCatalogIsConsistent(t *testing.T) {
	cats := Categories()
	if len(cats) != 5 {
		t.Errorf("got %d categories, want 5", len(cats))
	}
	perCat := map[string]int{}
	ids := map[string]bool{}
	pops := map[float64]string{}
	for _, p := range Products() {
		if ids[p.ID] {
			t.Errorf("duplicate id %q", p.ID)
		}
		ids[p.ID] = true
		if other, dup := pops[p.Popularity]; dup {
			t.Errorf("%s and %s share popularity %v: rankings would not be total", p.ID, other, p.Popularity)
		}
		pops[p.Popularity] = p.ID
		if p.URL != "/p/"+p.ID {
			t.Errorf("%s: url %q", p.ID, p.URL)
		}
		if p.Price <= 0 || p.Title == "" || len(p.Tags) == 0 || len(p.Categories) == 0 {
			t.Errorf("%s: incomplete %+v", p.ID, p)
		}
		for _, c := range p.Categories {
			if !slices.Contains(cats, c) {
				t.Errorf("%s: unknown category %q", p.ID, c)
			}
			perCat[c]++
		}
		if p.Image != "/img/"+p.ID+".svg" {
			t.Errorf("%s: image %q", p.ID, p.Image)
		}
	}
	if len(ids) < 30 {
		t.Errorf("got %d products, want at least 30", len(ids))
	}
	for _, c := range cats {
		if perCat[c] < 5 {
			t.Errorf("category %s has %d products, want at least 5", c, perCat[c])
		}
	}
	for _, id := range featuredIDs {
		if !ids[id] {
			t.Errorf("featured product %q is not in the catalog", id)
		}
	}
}

func TestProductsReturnsCopy(t *testing.T) {
	p := Products()
	p[0].Tags[0] = "changed"
	p[0].Categories[0] = "changed"
	q := Products()
	if q[0].Tags[0] == "changed" || q[0].Categories[0] == "changed" {
		t.Error("Products shares slices with the catalog")
	}
	j := CatalogJSON()
	j[0] = 'x'
	if CatalogJSON()[0] != '[' {
		t.Error("CatalogJSON shares its buffer")
	}
}

func TestInitials(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Aero Wireless Earbuds", "AW"},
		{"Salt & Fire Cookbook", "SF"},
		{"Ridge 2-Person Tent", "R2"},
		{"élan", "É"},
		{"", "?"},
	}
	for _, tt := range tests {
		if got := initials(tt.in); got != tt.want {
			t.Errorf("initials(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
