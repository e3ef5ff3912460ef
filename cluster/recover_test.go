package cluster

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/marquee-proxy/marquee/internal/background"
	"github.com/marquee-proxy/marquee/profile"
)

// panicsOf reads background's panic counter for one goroutine name.
func panicsOf(name string) float64 {
	return testutil.ToFloat64(background.Collector().(*prometheus.CounterVec).WithLabelValues(name))
}

// A Replicator that panics, in a message handler or in push/pull, costs
// the message it was given, not the node: the panic is counted under the
// goroutine that recovered it, and deltas and config sent afterwards are
// still applied.
func TestPanickingReplicatorDoesNotStopTheNode(t *testing.T) {
	tests := []struct {
		name string
		// poison is node 2's Replicator hook while node 1 publishes
		// config version 7.
		poison func(method string, v uint64)
		// publish sends config 7 at once; otherwise node 2 learns of it
		// by push/pull.
		publish bool
		// loop is the goroutine name the panics are counted under.
		loop string
	}{
		{
			name: "MergeConfig",
			poison: func(method string, v uint64) {
				if method == "MergeConfig" && v == 7 {
					panic("cannot merge config 7")
				}
			},
			publish: true,
			loop:    "cluster.inbox",
		},
		{
			name: "LocalConfig in push/pull",
			poison: func(method string, _ uint64) {
				if method == "LocalConfig" {
					panic("no local config")
				}
			},
			loop: "cluster.antientropy.state",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nodes := startNodes(t, 2, nil)
			before := panicsOf(tt.loop)
			nodes[1].rep.mu.Lock()
			nodes[1].rep.poison = tt.poison
			nodes[1].rep.mu.Unlock()

			nodes[0].rep.set(7, "campaigns: v7")
			if tt.publish {
				nodes[0].c.PublishConfig()
			}
			waitFor(t, 10*time.Second, "a panic recovered under "+tt.loop, func() bool {
				return panicsOf(tt.loop) > before
			})
			nodes[1].rep.mu.Lock()
			nodes[1].rep.poison = nil
			nodes[1].rep.mu.Unlock()

			p, err := nodes[0].store.Update("after", func(p *profile.Profile) error { p.Sessions = 1; return nil })
			if err != nil {
				t.Fatal(err)
			}
			nodes[0].rep.set(8, "campaigns: v8")
			nodes[0].c.PublishConfig()
			waitFor(t, 10*time.Second, "delta and config v8 applied after the panic", func() bool {
				v, _ := nodes[1].rep.LocalConfig()
				return v == 8 && versionOf(t, nodes[1].store, "after") == p.Version
			})
			if n := nodes[1].c.NumMembers(); n != 2 {
				t.Errorf("node 2 sees %d members after the panic, want 2", n)
			}
		})
	}
}
