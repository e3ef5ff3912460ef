package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/marquee-proxy/marquee/config"
	"github.com/marquee-proxy/marquee/internal/cachetest"
)

func cacheCLI(admin string, args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(append([]string{"cache"}, append(args, "-admin", admin)...), &out, &errb)
	return code, out.String(), errb.String()
}

func TestCacheCommand(t *testing.T) {
	c := &cachetest.Recorder{}
	n := startTestNodeWith(t, pageOrigin(), "  token: s3cret\n", nodeOptions{cache: c})
	code, out, errs := cacheCLI(n.adminURL(), "purge", "-url", "/p/1", "-url", "https://shop.example/p/2", "-prefix", "/c/", "-tag", "sku-9", "-token", "s3cret")
	if code != 0 || !strings.Contains(out, "dropped 4 entries") || !strings.Contains(out, "not in a cluster") {
		t.Fatalf("purge: exit %d\n%s%s", code, out, errs)
	}
	if got, want := c.Items(), []string{"/c/", "/p/1", "https://shop.example/p/2", "sku-9"}; !slices.Equal(got, want) {
		t.Errorf("cache purged %q, want %q", got, want)
	}
	at := "2026-12-01T10:00:00Z"
	if code, out, errs := cacheCLI(n.adminURL(), "purge", "-all", "-at", at, "-token", "s3cret"); code != 0 || !strings.Contains(out, "before "+at) {
		t.Errorf("purge -all -at: exit %d\n%s%s", code, out, errs)
	}

	off := startTestNode(t, pageOrigin(), "  token: s3cret\n")
	tests := []struct {
		name  string
		admin string
		args  []string
		code  int
		err   string
	}{
		{"nothing named", n.adminURL(), []string{"purge", "-token", "s3cret"}, 2, "-all"},
		{"bad -at", n.adminURL(), []string{"purge", "-all", "-at", "yesterday", "-token", "s3cret"}, 2, "RFC 3339"},
		{"relative URL", n.adminURL(), []string{"purge", "-url", "p/1", "-token", "s3cret"}, 1, "invalid_field"},
		{"no token", n.adminURL(), []string{"purge", "-all"}, 1, "answered 401: give the token with -token TOKEN or MARQUEE_ADMIN_TOKEN=TOKEN"},
		{"cache off", off.adminURL(), []string{"purge", "-all", "-token", "s3cret"}, 1, "cache_off"},
		{"no subcommand", n.adminURL(), []string{"-all"}, 2, "Usage"},
		{"unknown subcommand", n.adminURL(), []string{"flush", "-all"}, 2, "Usage"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if code, _, errs := cacheCLI(tt.admin, tt.args...); code != tt.code || !strings.Contains(errs, tt.err) {
				t.Errorf("exit %d, stderr %q; want %d with %q", code, errs, tt.code, tt.err)
			}
		})
	}
}

// TestCachePurgeReplicationFailed: when a clustered node could not hand a
// purge to its fleet, the CLI says so rather than that the node is not in
// a cluster.
func TestCachePurgeReplicationFailed(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"dropped":1,"replicated":false,"replication_error":"cluster: purge log full","at":"2026-12-07T06:00:00Z"}`)
	}))
	t.Cleanup(srv.Close)
	code, out, errs := cacheCLI(srv.URL, "purge", "-url", "/p/1", "-token", "s3cret")
	if code != 0 || !strings.Contains(out, "NOT replicated") || !strings.Contains(out, "purge log full") || strings.Contains(out, "not in a cluster") {
		t.Errorf("exit %d, stdout %q, stderr %q; want NOT replicated with the node's reason", code, out, errs)
	}
}

// A purge posted to one node of a fleet reaches the caches of the others
// through the node's wiring.
func TestCachePurgeFleet(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three nodes; skipped with -short")
	}
	caches := []*cachetest.Recorder{{}, {}, {}}
	var nodes []*node
	seed := "[]"
	for i := range caches {
		nd := startTestNodeWith(t, pageOrigin(), "  token: s3cret\n"+fleetNodeConfig(i+1, seed), nodeOptions{cache: caches[i]})
		nodes = append(nodes, nd)
		if i == 0 {
			seed = `["` + nd.clu.c.Addr() + `"]`
		}
	}
	poll(t, 15*time.Second, "all nodes joined", func() bool {
		for _, nd := range nodes {
			if nd.clu.c.NumMembers() != len(nodes) {
				return false
			}
		}
		return true
	})
	code, out, errs := cacheCLI(nodes[1].adminURL(), "purge", "-tag", "sku-1", "-prefix", "/c/", "-token", "s3cret")
	if code != 0 || !strings.Contains(out, "dropped 2 entries") || !strings.Contains(out, "every node") {
		t.Fatalf("purge: exit %d\n%s%s", code, out, errs)
	}
	want := []string{"/c/", "sku-1"}
	poll(t, 10*time.Second, "every node's cache purged", func() bool {
		for _, c := range caches {
			if !slices.Equal(c.Items(), want) {
				return false
			}
		}
		return true
	})
}

func TestPurgeRetentionConfig(t *testing.T) {
	cfg, err := config.Parse("t.yaml", []byte("origin: http://127.0.0.1:9\ncluster: {purge_retention: 3d}\n"))
	if err != nil {
		t.Fatal(err)
	}
	cc, err := clusterConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if cc.PurgeRetention != 72*time.Hour {
		t.Errorf("purge_retention 3d gives %v, want 72h", cc.PurgeRetention)
	}
}

// TestEdgeCachePurgeFleet: three nodes with edge caches each hold a page
// after one origin fetch; a purge by tag posted to one node makes every
// node fetch it again.
func TestEdgeCachePurgeFleet(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three nodes; skipped with -short")
	}
	var fetched atomic.Int64
	origin := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetched.Add(1)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "public, max-age=600")
		w.Header().Set("Surrogate-Key", "sku-1 listing")
		io.WriteString(w, originPage)
	})
	var nodes []*node
	seed := "[]"
	for i := range 3 {
		nd := startTestNode(t, origin, "  token: s3cret\ncache:\n  max_size: 16MiB\n  x_cache_header: true\n"+fleetNodeConfig(i+1, seed))
		nodes = append(nodes, nd)
		if i == 0 {
			seed = `["` + nd.clu.c.Addr() + `"]`
		}
	}
	poll(t, 15*time.Second, "all nodes joined", func() bool {
		for _, nd := range nodes {
			if nd.clu.c.NumMembers() != len(nodes) {
				return false
			}
		}
		return true
	})
	get := func(nd *node) string {
		resp, err := http.Get(nd.proxyURL() + "/c/shoes")
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if tags := resp.Header.Get("Surrogate-Key"); tags != "" {
			t.Errorf("the origin's Surrogate-Key reached the client: %q", tags)
		}
		return resp.Header.Get("X-Cache")
	}
	for _, nd := range nodes {
		if got := []string{get(nd), get(nd)}; !slices.Equal(got, []string{"MISS", "HIT"}) {
			t.Fatalf("X-Cache of two requests: %v, want MISS then HIT", got)
		}
	}
	if n := fetched.Load(); n != 3 {
		t.Fatalf("origin fetched %d times for three nodes, want 3", n)
	}

	code, out, errs := cacheCLI(nodes[2].adminURL(), "purge", "-tag", "sku-1", "-token", "s3cret")
	if code != 0 || !strings.Contains(out, "dropped 1 ") {
		t.Fatalf("purge: exit %d\n%s%s", code, out, errs)
	}
	for i, nd := range nodes {
		poll(t, 10*time.Second, fmt.Sprintf("node %d's copy purged", i+1), func() bool { return get(nd) == "MISS" })
	}
	if n := fetched.Load(); n != 6 {
		t.Errorf("origin fetched %d times after the purge, want 6", n)
	}
}
