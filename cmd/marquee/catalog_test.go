package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/marquee-proxy/marquee/personalize"
	"github.com/marquee-proxy/marquee/profile"
	msync "github.com/marquee-proxy/marquee/sync"
)

// catalogNode starts a node from a config file in a temporary directory
// whose catalog says p1 is a shoe, and writes a second catalog beside it
// saying p1 is electronics. It returns the node, the config file and the
// config text that names the second catalog.
func catalogNode(t *testing.T) (n *node, path, second string) {
	t.Helper()
	dir := t.TempDir()
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("a.json", `[{"id":"p1","categories":["shoes"]},{"id":"old-only","categories":["shoes"]}]`)
	write("b.json", `[{"id":"p1","categories":["electronics"]},{"id":"p2","categories":["electronics"]}]`)
	base := fmt.Sprintf("listen: 127.0.0.1:0\norigin: %s\nadmin:\n  listen: 127.0.0.1:0\ndata_dir: %s\ntracking:\n  pages:\n    - path: /p/{product}\n",
		serveOrigin(t, nil, pageOrigin()), filepath.Join(dir, "data"))
	path = filepath.Join(dir, "marquee.yaml")
	write("marquee.yaml", base+"catalog: a.json\n")
	cfg, snap, err := loadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	n, err = startNode(cfg, snap, slog.New(slog.DiscardHandler), nodeOptions{})
	if err != nil {
		t.Fatalf("startNode: %v", err)
	}
	t.Cleanup(func() { n.close(context.Background()) })
	return n, path, base + "catalog: b.json\n"
}

// viewCategories applies a view of product without a category for visitor
// and returns the categories of the visitor's views.
func viewCategories(t *testing.T, n *node, visitor, product string) map[string][]profile.DayCount {
	t.Helper()
	if r := n.store.ApplyEvent(msync.Event{ID: visitor + product, Type: msync.EventView, Visitor: visitor, Product: product}); r.Status != msync.EventAccepted {
		t.Fatalf("event: %s %v", r.Status, r.Err)
	}
	p, err := n.store.Get(visitor)
	if err != nil || p == nil {
		t.Fatalf("profile %s: %v", visitor, err)
	}
	return p.Views
}

// checkSecondCatalog checks that the event path answers from the second
// catalog, through the store's API and through an observed page view.
func checkSecondCatalog(t *testing.T, n *node) {
	t.Helper()
	if got := n.pers.Snapshot().Engine.Catalog().Len(); got != 2 {
		t.Fatalf("decisions' catalog: %d products, want 2", got)
	}
	if v := viewCategories(t, n, "after", "p1"); v["electronics"] == nil || v["shoes"] != nil {
		t.Errorf("view of p1 after the reload: want electronics (the new catalog's), got %v", v)
	}
	for _, c := range []struct {
		product string
		unknown uint64
	}{{"old-only", 1}, {"p2", 0}} {
		before := n.store.UnknownProducts()
		viewCategories(t, n, "after", c.product)
		if got := n.store.UnknownProducts() - before; got != c.unknown {
			t.Errorf("view of %s after the reload: counted unknown %d time(s), want %d", c.product, got, c.unknown)
		}
	}

	// A product page the proxy observes takes its category the same way.
	b := newBrowser(t)
	if resp, _ := b.get(n.proxyURL() + "/p/p1"); resp.StatusCode != http.StatusOK {
		t.Fatalf("product page: %d", resp.StatusCode)
	}
	id := b.cookies["mq_vid"]
	if len(id) < personalize.VisitorIDLen {
		t.Fatalf("no visitor cookie: %q", id)
	}
	id = id[:personalize.VisitorIDLen]
	deadline := time.Now().Add(5 * time.Second)
	for {
		p, _ := n.store.Get(id)
		if p != nil && len(p.Views) > 0 {
			if p.Views["electronics"] == nil {
				t.Errorf("observed view of p1 after the reload: want electronics, got %v", p.Views)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the observed page view never reached the store")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestReloadSwapsEventCatalog: SIGHUP's reload replaces the catalog the
// event path names categories and flags unknown products with.
func TestReloadSwapsEventCatalog(t *testing.T) {
	n, path, second := catalogNode(t)
	if v := viewCategories(t, n, "before", "p1"); v["shoes"] == nil {
		t.Fatalf("view of p1 under the first catalog: want shoes, got %v", v)
	}
	if err := os.WriteFile(path, []byte(second), 0o600); err != nil {
		t.Fatal(err)
	}
	var logged strings.Builder
	reload(n, path, slog.New(slog.NewTextHandler(&logged, nil)))
	if !strings.Contains(logged.String(), "reloaded") {
		t.Fatalf("reload refused: %s", logged.String())
	}
	checkSecondCatalog(t, n)
}

// TestMergeConfigSwapsEventCatalog: a decisions document replicated from
// another node replaces the event path's catalog too.
func TestMergeConfigSwapsEventCatalog(t *testing.T) {
	n, _, _ := catalogNode(t)
	rep := newReplicator(n.campaigns, n.stats, "n1")
	if err := rep.MergeConfig(uint64(n.store.Clock().Now())+1, []byte(`{"catalog": "b.json"}`)); err != nil {
		t.Fatal(err)
	}
	checkSecondCatalog(t, n)
}

// TestPutCampaignsCompilesOverTheReload: a PUT /v1/campaigns that arrives
// while a reload holds the campaign log is compiled over the reloaded
// configuration, not the one it saw first, so it cannot undo the reload.
func TestPutCampaignsCompilesOverTheReload(t *testing.T) {
	n, path, second := catalogNode(t)
	reloaded := strings.Replace(second, "    - path: /p/{product}\n", "    - path: /p/{product}\n    - path: /item/{product}\n", 1)
	if err := os.WriteFile(path, []byte(reloaded), 0o600); err != nil {
		t.Fatal(err)
	}
	_, snap, err := loadConfig(path)
	if err != nil {
		t.Fatal(err)
	}

	n.campaigns.mu.Lock()
	done := make(chan string, 1)
	go func() {
		code, b := adminDo(t, "PUT", n.adminURL()+"/v1/campaigns", `{"catalog": "a.json"}`)
		done <- fmt.Sprint(code, " ", b)
	}()
	// Let the PUT reach the log (a build that compiles first compiles now,
	// over the configuration before the reload), then reload as SIGHUP does.
	time.Sleep(200 * time.Millisecond)
	n.pers.Swap(snap)
	n.campaigns.mu.Unlock()
	if got := <-done; !strings.HasPrefix(got, "200 ") {
		t.Fatalf("PUT: %s", got)
	}
	if pages := n.pers.Snapshot().Config.Tracking.Pages; len(pages) != 2 {
		t.Fatalf("the PUT undid the reload: tracking.pages %v", pages)
	}
}
