package cluster

import (
	"encoding/json"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"
	"github.com/marquee-proxy/marquee/profile"
)

// Nodes come and go for the life of a fleet (every deploy brings new
// names): the per-node state kept about them must go with them, once
// Members has listed them as dead for DeadNodeReclaimTime.
func TestDepartedNodesArePruned(t *testing.T) {
	const reclaim = 2 * time.Second
	nodes := startNodes(t, 1, func(_ int, cfg *Config) { cfg.DeadNodeReclaimTime = reclaim })
	c := nodes[0].c
	d := &delegate{c: c}
	sizes := func() (peers, gone, lag int) {
		c.mu.Lock()
		defer c.mu.Unlock()
		return len(c.peers), len(c.gone), len(c.lag)
	}
	dead := func() map[string]bool {
		out := map[string]bool{}
		for _, m := range c.Members() {
			if m.State == "dead" {
				out[m.Name] = true
			}
		}
		return out
	}

	// Five waves of 200 nodes, each joining, sending a delta (which
	// records its lag) and leaving; one of them comes back.
	const waves, perWave = 5, 200
	var left time.Time
	for w := range waves {
		for i := range perWave {
			n := &memberlist.Node{Name: fmt.Sprintf("n%d-%d", w, i), Addr: net.IPv4(127, 0, 0, 1), Port: uint16(20000 + i)}
			d.NotifyJoin(n)
			data, err := json.Marshal(&profile.Profile{ID: "p-" + n.Name, Node: n.Name, Version: profile.VersionAt(time.Now())})
			if err != nil {
				t.Fatal(err)
			}
			c.apply(&record{ID: "p-" + n.Name, Profile: data}, true)
			d.NotifyLeave(n)
		}
	}
	left = time.Now()
	back := &memberlist.Node{Name: "n0-7", Addr: net.IPv4(127, 0, 0, 2), Port: 7946}
	d.NotifyJoin(back)

	if got := dead(); len(got) != waves*perWave-1 || got[back.Name] {
		t.Fatalf("right after leaving: %d listed dead (%s among them: %v), want %d", len(got), back.Name, got[back.Name], waves*perWave-1)
	}
	// Until DeadNodeReclaimTime has passed they are still listed dead.
	time.Sleep(reclaim / 2)
	if got := dead(); time.Since(left) < reclaim && len(got) != waves*perWave-1 {
		t.Fatalf("%v after leaving: %d listed dead, want %d", time.Since(left), len(got), waves*perWave-1)
	}
	waitFor(t, 4*reclaim, "departed nodes pruned", func() bool {
		peers, gone, lag := sizes()
		return peers == 2 && gone == 0 && lag == 0
	})
	if el := time.Since(left); el < reclaim {
		t.Errorf("pruned after %v, before DeadNodeReclaimTime %v", el, reclaim)
	}
	if got := dead(); len(got) != 0 {
		t.Errorf("%d still listed dead", len(got))
	}
	alive := 0
	for _, m := range c.Members() {
		if m.State == "alive" {
			alive++
		}
	}
	if alive != 2 {
		t.Errorf("%d listed alive, want this node and %s", alive, back.Name)
	}
}
