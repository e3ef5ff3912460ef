package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/marquee-proxy/marquee/config"
	"github.com/marquee-proxy/marquee/personalize"
)

// fleetConfig is node i's config file (i from 1) in a fleet whose seed
// node listens for gossip at seed ("" for the seed itself).
func fleetConfig(origin, dataDir string, i int, seed string) string {
	join := "[]"
	if seed != "" {
		join = `["` + seed + `"]`
	}
	return fmt.Sprintf(`listen: 127.0.0.1:0
origin: %s
admin:
  listen: 127.0.0.1:0
  token: s3cret
data_dir: %s
`, origin, dataDir) + fleetNodeConfig(i, join)
}

// startFleet starts one node per data directory in this process, each
// joining the first, and waits until they all see each other. The caller
// stops them.
func startFleet(t *testing.T, origin string, dirs []string) []*node {
	t.Helper()
	var nodes []*node
	seed := ""
	for i, dir := range dirs {
		cfg, err := config.Parse("test.yaml", []byte(fleetConfig(origin, dir, i+1, seed)))
		if err != nil {
			t.Fatal(err)
		}
		snap, err := personalize.Compile(cfg)
		if err != nil {
			t.Fatal(err)
		}
		n, err := startNode(cfg, snap, slog.New(slog.DiscardHandler), nodeOptions{})
		if err != nil {
			t.Fatalf("startNode: %v", err)
		}
		nodes = append(nodes, n)
		if i == 0 {
			seed = n.clu.c.Addr()
		}
	}
	poll(t, 15*time.Second, "all nodes joined", func() bool {
		for _, nd := range nodes {
			if nd.clu.c.NumMembers() != len(dirs) {
				return false
			}
		}
		return true
	})
	return nodes
}

func stopFleet(nodes []*node) {
	for _, n := range nodes {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		n.close(ctx)
		cancel()
	}
}

// historyTop is the newest version a node's GET /v1/campaigns/history
// lists, or "" when it does not list any.
func historyTop(t *testing.T, adminURL string) string {
	t.Helper()
	code, b := adminDo(t, "GET", adminURL+"/v1/campaigns/history", "")
	var h struct {
		Versions []struct{ Version, By string }
	}
	if code != 200 || json.Unmarshal([]byte(b), &h) != nil || len(h.Versions) == 0 {
		return ""
	}
	return h.Versions[0].Version
}

const allHero = `segments:
  everyone: 'true'
campaigns:
  - id: all-hero
    slot: hero
    when: everyone
    priority: 10
    template: '<b>offer for all</b>'
`

// TestFleetRestartKeepsCampaignsAndCounts stops a whole fleet and starts
// it again from the same config files: every node serves the campaign
// applied through the API before, not the file's, and the fleet's
// counters carry on from where they were.
func TestFleetRestartKeepsCampaignsAndCounts(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a fleet twice; skipped with -short")
	}
	origin := serveOrigin(t, nil, pageOrigin())
	dirs := []string{t.TempDir(), t.TempDir(), t.TempDir()}
	client := &http.Client{Timeout: 10 * time.Second}

	nodes := startFleet(t, origin, dirs)
	stopped := false
	defer func() {
		if !stopped {
			stopFleet(nodes)
		}
	}()
	if code, b := adminDo(t, "PUT", nodes[1].adminURL()+"/v1/campaigns", allHero); code != 200 {
		t.Fatalf("PUT campaigns: %d %s", code, b)
	}
	poll(t, 30*time.Second, "new campaign served by every node", func() bool {
		for _, nd := range nodes {
			if _, body := get(t, client, nd.proxyURL()+"/", ""); !strings.Contains(body, "offer for all") {
				return false
			}
		}
		return true
	})
	for _, nd := range nodes {
		for range 3 {
			get(t, client, nd.proxyURL()+"/", "")
		}
	}
	var before uint64
	poll(t, 30*time.Second, "fleet-wide counters on node 1", func() bool {
		_, b := adminDo(t, "GET", nodes[0].adminURL()+"/v1/stats", "")
		before = exposuresOf(b, "all-hero")
		return before >= uint64(4*len(nodes))
	})
	version := historyTop(t, nodes[1].adminURL())
	poll(t, 15*time.Second, "every node's history at the applied version", func() bool {
		for _, nd := range nodes {
			if historyTop(t, nd.adminURL()) != version {
				return false
			}
		}
		return true
	})

	stopFleet(nodes)
	stopped = true
	nodes = startFleet(t, origin, dirs)
	defer stopFleet(nodes)

	for i, nd := range nodes {
		if _, body := get(t, client, nd.proxyURL()+"/", ""); !strings.Contains(body, "offer for all") {
			t.Errorf("node %d serves the config file's campaigns after the restart, not the applied version", i+1)
		}
		if v := historyTop(t, nd.adminURL()); version != "" && v != version {
			t.Errorf("node %d: newest version %q after the restart, want %q", i+1, v, version)
		}
	}
	// The requests just made count too, so the fleet total only grows.
	var last string
	poll(t, 30*time.Second, "the counts from before the restart on node 1", func() bool {
		_, last = adminDo(t, "GET", nodes[0].adminURL()+"/v1/stats", "")
		return exposuresOf(last, "all-hero") >= before+uint64(len(nodes))
	})
}

// TestKill9LosesAtMostOneSavePeriod pins the documented bound: counts
// recorded more than statsSaveInterval before a kill -9 survive it, and
// so does a campaign document applied through the API.
func TestKill9LosesAtMostOneSavePeriod(t *testing.T) {
	bin := buildMarquee(t)
	origin := serveOrigin(t, nil, pageOrigin())
	dir := t.TempDir()
	cfg := filepath.Join(dir, "marquee.yaml")
	os.WriteFile(cfg, []byte(`listen: 127.0.0.1:0
origin: `+origin+`
admin:
  listen: 127.0.0.1:0
  token: s3cret
data_dir: `+filepath.Join(dir, "data")+`
identity:
  keys: ["c2lnbmluZy1rZXktZm9yLXRlc3RzLW9ubHktMzJieXQ="]
campaigns: []
`), 0o600)
	start := func() (*exec.Cmd, string, string) {
		cmd := exec.Command(bin, "serve", "-config", cfg)
		stderr, _ := cmd.StderrPipe()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			cmd.Process.Kill()
			cmd.Wait()
		})
		p, a := waitServing(t, stderr)
		return cmd, p, a
	}
	client := &http.Client{Timeout: 10 * time.Second}

	cmd, proxyURL, adminURL := start()
	if code, b := adminDo(t, "PUT", adminURL+"/v1/campaigns", allHero); code != 200 {
		t.Fatalf("PUT campaigns: %d %s", code, b)
	}
	const saved, unsaved = 7, 3
	for range saved {
		get(t, client, proxyURL+"/", "")
	}
	time.Sleep(statsSaveInterval + 2*time.Second)
	for range unsaved {
		get(t, client, proxyURL+"/", "")
	}
	if err := cmd.Process.Kill(); err != nil { // SIGKILL: no shutdown path runs
		t.Fatal(err)
	}
	cmd.Wait()

	_, proxyURL, adminURL = start()
	if _, body := get(t, client, proxyURL+"/", ""); !strings.Contains(body, "offer for all") {
		t.Error("the campaign applied before the kill -9 is not served after it")
	}
	_, b := adminDo(t, "GET", adminURL+"/v1/stats", "")
	// One more exposure: the page just fetched.
	if n := exposuresOf(b, "all-hero"); n < saved+1 || n > saved+unsaved+1 {
		t.Errorf("exposures after kill -9: %d, want between %d and %d: %s", n, saved+1, saved+unsaved+1, b)
	}
}
