package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// startClusterNodes starts n nodes in this process on loopback, encrypted,
// each joining the first, in front of the same page.
// fleetNodeConfig is the identity, cluster and campaign part of the config
// of node i of a test fleet that joins join (a YAML list).
func fleetNodeConfig(i int, join string) string {
	return fmt.Sprintf(`identity:
  keys: ["c2lnbmluZy1rZXktZm9yLXRlc3RzLW9ubHktMzJieXQ="]
cluster:
  name: shop
  node_name: edge%d
  bind: 127.0.0.1:0
  join: %s
  preset: local
  secret_keys: ["AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="]
segments:
  gold: 'attrs.tier == "gold"'
campaigns:
  - id: gold-hero
    slot: hero
    when: gold
    priority: 10
    template: '<b>gold offer</b>'
`, i, join)
}

func startClusterNodes(t *testing.T, n int) []*node {
	t.Helper()
	var nodes []*node
	seed := "[]"
	for i := range n {
		nd := startTestNode(t, pageOrigin(), "  token: s3cret\n"+fleetNodeConfig(i+1, seed))
		nodes = append(nodes, nd)
		if i == 0 {
			seed = `["` + nd.clu.c.Addr() + `"]`
		}
	}
	poll(t, 15*time.Second, "all nodes joined", func() bool {
		for _, nd := range nodes {
			if nd.clu.c.NumMembers() != n {
				return false
			}
		}
		return true
	})
	return nodes
}

// poll checks cond every 20ms until it holds or timeout passes.
func poll(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for range int(timeout/(20*time.Millisecond)) + 1 {
		if cond() {
			return
		}
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("timed out after %v waiting for %s", timeout, what)
}

func adminDo(t *testing.T, method, url, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer s3cret")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestClusterFiveNodes(t *testing.T) {
	if testing.Short() {
		t.Skip("starts five nodes; skipped with -short")
	}
	nodes := startClusterNodes(t, 5)
	client := &http.Client{Timeout: 10 * time.Second}
	first, fifth := nodes[0], nodes[4]

	// A visitor of node 5 made gold on node 1 is served the gold offer by
	// node 5's proxy.
	r, body := get(t, client, fifth.proxyURL()+"/", "")
	if strings.Contains(body, "gold offer") {
		t.Fatal("gold offer before the profile was written")
	}
	var cookie, id string
	for _, c := range r.Cookies() {
		if c.Name == "mq_vid" {
			cookie, id = c.Name+"="+c.Value, strings.Split(c.Value, ".")[0]
		}
	}
	if id == "" {
		t.Fatal("no visitor cookie")
	}
	if code, b := adminDo(t, "PUT", first.adminURL()+"/v1/profiles/"+id, `{"attrs":{"tier":"gold"}}`); code != 200 {
		t.Fatalf("PUT profile: %d %s", code, b)
	}
	poll(t, 15*time.Second, "profile served personalised by node 5", func() bool {
		_, body := get(t, client, fifth.proxyURL()+"/", cookie)
		return strings.Contains(body, "gold offer")
	})

	// Erasure on node 3 reaches node 5.
	if code, b := adminDo(t, "DELETE", nodes[2].adminURL()+"/v1/profiles/"+id, ""); code/100 != 2 {
		t.Fatalf("DELETE profile: %d %s", code, b)
	}
	poll(t, 15*time.Second, "erasure on every node", func() bool {
		for _, nd := range nodes {
			if code, _ := adminDo(t, "GET", nd.adminURL()+"/v1/profiles/"+id, ""); code != 404 {
				return false
			}
		}
		return true
	})

	// A campaign change on node 2 is served by every node.
	code, b := adminDo(t, "PUT", nodes[1].adminURL()+"/v1/campaigns", `segments:
  everyone: 'true'
campaigns:
  - id: all-hero
    slot: hero
    when: everyone
    priority: 10
    template: '<b>offer for all</b>'
`)
	if code != 200 {
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

	// Counters: every node counts its own exposures; each node's report
	// sums the fleet's.
	for _, nd := range nodes {
		for range 3 {
			get(t, client, nd.proxyURL()+"/", "")
		}
	}
	var last string
	defer func() {
		if t.Failed() {
			t.Logf("last /v1/stats: %s", last)
		}
	}()
	poll(t, 30*time.Second, "fleet-wide counters on node 1", func() bool {
		_, b := adminDo(t, "GET", first.adminURL()+"/v1/stats", "")
		last = b
		return exposuresOf(b, "all-hero") >= uint64(3*len(nodes))
	})

	// GET /v1/cluster lists every member.
	code, b = adminDo(t, "GET", fifth.adminURL()+"/v1/cluster", "")
	if code != 200 {
		t.Fatalf("GET /v1/cluster: %d %s", code, b)
	}
	var cl struct {
		Members []struct{ Name, State string }
	}
	json.Unmarshal([]byte(b), &cl)
	alive := 0
	for _, m := range cl.Members {
		if m.State == "alive" {
			alive++
		}
	}
	if alive != 5 {
		t.Errorf("GET /v1/cluster: %d alive members, want 5: %s", alive, b)
	}
}

// exposuresOf sums a campaign's exposures in a /v1/stats answer.
func exposuresOf(b string, campaign string) uint64 {
	var n uint64
	var generic struct {
		Campaigns []struct {
			Campaign string
			Variants []struct{ Exposures uint64 }
		}
	}
	json.Unmarshal([]byte(b), &generic)
	for _, c := range generic.Campaigns {
		if c.Campaign == campaign {
			for _, v := range c.Variants {
				n += v.Exposures
			}
		}
	}
	return n
}
