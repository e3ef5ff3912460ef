package admin

import (
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
)

// writeCatalog writes a catalog file in dir and returns its path.
func writeCatalog(t *testing.T, dir, name, body string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestPutCampaignsReloadsEventCatalog replaces the catalog through PUT
// /v1/campaigns: events sent afterwards take a product's category from the
// new catalog and are counted unknown against it, not against the one
// marquee started with.
func TestPutCampaignsReloadsEventCatalog(t *testing.T) {
	dir := t.TempDir()
	a := writeCatalog(t, dir, "a.json", `[{"id":"p1","categories":["shoes"]},{"id":"old-only","categories":["shoes"]}]`)
	b := writeCatalog(t, dir, "b.ndjson", `{"id":"p1","categories":["Electronics"]}`+"\n"+`{"id":"p2","categories":["electronics"]}`+"\n")
	env := startPersonalized(t, fmt.Sprintf("catalog_dir: %s\ncatalog: %s\n", dir, a), slotPage)
	h, err := New(Options{Store: env.Store, Personalizer: env.Pers})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()

	code, body := call(t, srv, "POST", "/v1/events", "", `[{"id":"e1","type":"view","visitor":"before","product":"p1"}]`)
	if code != 200 {
		t.Fatalf("POST events: %d %v", code, body)
	}
	if p, _ := env.Store.Get("before"); p == nil || p.Views["shoes"] == nil {
		t.Fatalf("view of p1 under the first catalog: want shoes, got %+v", p)
	}

	if code, body := call(t, srv, "PUT", "/v1/campaigns", "", fmt.Sprintf(`{"catalog": %q}`, b)); code != 200 {
		t.Fatalf("PUT: %d %v", code, body)
	}
	if got := env.Pers.Snapshot().Engine.Catalog().Len(); got != 2 {
		t.Fatalf("decisions' catalog after PUT: %d products, want 2", got)
	}
	code, body = call(t, srv, "POST", "/v1/events", "", `[{"id":"e2","type":"view","visitor":"after","product":"p1"}]`)
	if code != 200 {
		t.Fatalf("POST events: %d %v", code, body)
	}
	p, _ := env.Store.Get("after")
	if p == nil || p.Views["electronics"] == nil || p.Views["shoes"] != nil {
		t.Errorf("view of p1 after the PUT: want electronics (the new catalog's), got %+v", p)
	}
	for i, c := range []struct {
		product string
		unknown uint64
	}{{"old-only", 1}, {"p2", 0}} {
		before := env.Store.UnknownProducts()
		ev := fmt.Sprintf(`[{"id":"u%d","type":"view","visitor":"after","product":%q,"category":"x"}]`, i, c.product)
		if code, body := call(t, srv, "POST", "/v1/events", "", ev); code != 200 {
			t.Fatalf("POST events: %d %v", code, body)
		}
		if got := env.Store.UnknownProducts() - before; got != c.unknown {
			t.Errorf("view of %s after the PUT: counted unknown %d time(s), want %d", c.product, got, c.unknown)
		}
	}
}
