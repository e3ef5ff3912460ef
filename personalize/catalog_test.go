package personalize_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/marquee-proxy/marquee/config"
	"github.com/marquee-proxy/marquee/decide"
	"github.com/marquee-proxy/marquee/personalize"
	msync "github.com/marquee-proxy/marquee/sync"
)

// TestSwapSharesCatalogWithEvents: after a Swap, the event path names a
// product view's category from the new snapshot's catalog, and a
// recommendation from that snapshot ranks by the category so recorded:
// decisions and events read one catalog version.
func TestSwapSharesCatalogWithEvents(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	a := write("a.json", `[{"id":"p1","categories":["shoes"]},{"id":"p3","categories":["shoes"],"popularity":9}]`)
	b := write("b.json", `[{"id":"P1","categories":["Electronics"]},{"id":"p2","categories":["Electronics"],"popularity":1},{"id":"p3","categories":["shoes"],"popularity":9}]`)
	env := startPersonalized(t, fmt.Sprintf("catalog_dir: %s\ncatalog: %s\n", dir, a), slotPage)
	if got := env.Pers.Snapshot().Products(); got != env.Pers.Snapshot().Engine.Catalog() {
		t.Fatalf("snapshot's event catalog %v is not the engine's", got)
	}

	view := func(visitor string) {
		t.Helper()
		if r := env.Store.ApplyEvent(msync.Event{ID: visitor, Type: msync.EventView, Visitor: visitor, Product: "p1"}); r.Status != msync.EventAccepted {
			t.Fatalf("event: %s %v", r.Status, r.Err)
		}
	}
	view("before")
	if p, _ := env.Store.Get("before"); p.Views["shoes"] == nil {
		t.Fatalf("view under the first catalog: want shoes, got %v", p.Views)
	}

	cfg, err := env.Pers.Snapshot().Config.WithDecisions("body", fmt.Appendf(nil, "catalog: %s\n", b))
	if err != nil {
		t.Fatal(err)
	}
	snap, err := personalize.Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	env.Pers.Swap(snap)
	cur := env.Pers.Snapshot()
	if cur != snap || cur.Products() != cur.Engine.Catalog() {
		t.Fatal("the swapped snapshot's event catalog is not its engine's")
	}
	view("after")
	p, _ := env.Store.Get("after")
	if p.Views["electronics"] == nil || p.Views["shoes"] != nil {
		t.Fatalf("view after the swap: want electronics, got %v", p.Views)
	}
	recs := cur.Engine.Catalog().Recommend(p, 2, p.Views["electronics"][0].Day, decide.RecommendOptions{})
	if len(recs) != 2 || recs[0].Categories[0] != "Electronics" {
		t.Errorf("recommendations after the swap do not follow the recorded category: %+v", recs)
	}
}

// TestCompileWithoutCatalog: no catalog, no event catalog, so that the
// store counts no product unknown.
func TestCompileWithoutCatalog(t *testing.T) {
	cfg, err := config.Parse("t.yaml", []byte("origin: http://127.0.0.1:1\n"))
	if err != nil {
		t.Fatal(err)
	}
	snap, err := personalize.Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if snap.Products() != nil {
		t.Errorf("Products without a catalog: %v, want nil", snap.Products())
	}
}
