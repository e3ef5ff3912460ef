package main

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// TestNodeExportsExposures runs a node with every export sink but Kafka
// (tested in package export) and checks that a page view reaches the
// files and the webhook as one record, named by the cluster's node name,
// its ids hashed, its url keeping only the query parameters export.query
// names.
func TestNodeExportsExposures(t *testing.T) {
	var mu sync.Mutex
	var posted []string
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer wh" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		sc := bufio.NewScanner(r.Body)
		mu.Lock()
		for sc.Scan() {
			posted = append(posted, sc.Text())
		}
		mu.Unlock()
	}))
	defer hook.Close()
	dir := t.TempDir()
	n := startTestNode(t, pageOrigin(), "data_dir: "+dir+"\ncluster: {node_name: edge-7, bind: '127.0.0.1:0'}\nidentity: {keys: [MDEyMzQ1Njc4OWFiY2RlZg==]}\n"+
		"campaigns:\n  - {id: promo, slot: hero, template: '<b>PROMO</b>'}\n"+
		"export:\n  ids: hmac\n  id_key: MDEyMzQ1Njc4OWFiY2RlZg==\n  query: [page]\n  file: {}\n"+
		"  webhook: {url: '"+hook.URL+"', auth: Bearer wh, batch_wait: 10ms}\n")
	b := newBrowser(t)
	b.get(n.proxyURL() + "/c/shoes?page=2&token=s3cret")
	if err := n.close(context.Background()); err != nil {
		t.Fatal(err)
	}

	files, _ := filepath.Glob(filepath.Join(dir, "exports", "exposures-*.ndjson"))
	if len(files) != 1 {
		t.Fatalf("export files %q, want one", files)
	}
	raw, _ := os.ReadFile(files[0])
	lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
	mu.Lock()
	defer mu.Unlock()
	if len(lines) != 1 || len(posted) != 1 || lines[0] != posted[0] {
		t.Fatalf("file %q and webhook %q, want the same one record", lines, posted)
	}
	var rec map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &rec); err != nil {
		t.Fatal(err)
	}
	vis, _ := rec["visitor"].(string)
	if rec["type"] != "exposure" || rec["campaign"] != "promo" || rec["variant"] != "default" || rec["node"] != "edge-7" ||
		rec["url"] != "/c/shoes?page=2" || len(vis) != 64 || rec["customer"] != nil {
		t.Errorf("record %s", lines[0])
	}
}
