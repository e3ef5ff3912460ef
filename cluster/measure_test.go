package cluster

import (
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/marquee-proxy/marquee/cache"
	"github.com/marquee-proxy/marquee/profile"
	msync "github.com/marquee-proxy/marquee/sync"
)

// The measurements of bench/RESULTS.md. They take minutes, so they run
// only with MARQUEE_CLUSTER_BENCH=1:
//
//	MARQUEE_CLUSTER_BENCH=1 go test -run Measure -v -timeout 20m ./cluster/

func needBench(t *testing.T) {
	if os.Getenv("MARQUEE_CLUSTER_BENCH") == "" {
		t.Skip("set MARQUEE_CLUSTER_BENCH=1 to run the cluster measurements")
	}
}

// lanNodes starts n nodes with the LAN preset's timing (what production
// runs), encrypted, on a fabric that counts bytes.
func lanNodes(t *testing.T, n int) ([]*testNode, []*faultyTransport, *fabric) {
	f := newFabric()
	trs := make([]*faultyTransport, n)
	nodes := startNodes(t, n, func(i int, cfg *Config) {
		d := DefaultConfig(LAN)
		cfg.Preset = LAN
		cfg.PushPullInterval = d.PushPullInterval
		cfg.GossipInterval = 0
		cfg.RejoinInterval = d.RejoinInterval
		cfg.Buckets = d.Buckets
		cfg.StatsInterval = time.Hour
		cfg.wrapTransport = onFabric(f, &trs[i])
	})
	return nodes, trs, f
}

func percentile(d []time.Duration, p float64) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[min(len(s)-1, int(float64(len(s))*p))]
}

func TestMeasureUpdateLatency(t *testing.T) {
	needBench(t)
	nodes, _, _ := lanNodes(t, 5)
	const updates = 1000
	type pending struct {
		id      string
		v       profile.Version
		written time.Time
	}
	var open []pending
	var lat []time.Duration
	next := time.Now()
	deadline := time.Now().Add(2 * time.Minute)
	for i := 0; (i < updates || len(open) > 0) && time.Now().Before(deadline); {
		if i < updates && !time.Now().Before(next) {
			id := fmt.Sprintf("lat%d", i)
			p, err := nodes[i%5].store.Update(id, func(p *profile.Profile) error { p.Sessions = i; return nil })
			if err != nil {
				t.Fatal(err)
			}
			open = append(open, pending{id, p.Version, time.Now()})
			i++
			next = next.Add(10 * time.Millisecond) // 100 updates/s
		}
		open = slices.DeleteFunc(open, func(p pending) bool {
			for _, nd := range nodes {
				if versionOf(t, nd.store, p.id) < p.v {
					return false
				}
			}
			lat = append(lat, time.Since(p.written))
			return true
		})
		time.Sleep(time.Millisecond)
	}
	if len(lat) != updates {
		t.Fatalf("only %d of %d updates reached every node", len(lat), updates)
	}
	t.Logf("update readable on all 5 nodes: p50 %v, p99 %v, max %v (n=%d, 100 updates/s, LAN preset)",
		percentile(lat, .5).Round(time.Millisecond), percentile(lat, .99).Round(time.Millisecond), percentile(lat, 1).Round(time.Millisecond), len(lat))
}

func TestMeasureBandwidth(t *testing.T) {
	needBench(t)
	nodes, trs, _ := lanNodes(t, 5)
	base := make([]uint64, len(trs))
	for i, tr := range trs {
		base[i] = tr.sent.Load()
	}
	const rate, secs = 1000, 10
	start := time.Now()
	next := start
	written := 0
	for written < rate*secs && time.Since(start) < 2*secs*time.Second {
		if time.Now().Before(next) {
			time.Sleep(50 * time.Microsecond)
			continue
		}
		id := fmt.Sprintf("bw%d", rand.N(100000))
		if _, err := nodes[written%5].store.Update(id, func(p *profile.Profile) error {
			p.Sessions++
			p.Recent = append(p.Recent, "sku-12345")
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		written++
		next = start.Add(time.Duration(written) * time.Second / rate)
	}
	elapsed := time.Since(start)
	var sent, dropped uint64
	for i, tr := range trs {
		sent += tr.sent.Load() - base[i]
		dropped += nodes[i].c.Metrics().DeltasDropped.Load()
	}
	t.Logf("%d updates in %v (%.0f/s): %.1f KB/s sent per node (UDP+TCP, encrypted), %d deltas pruned from queues",
		written, elapsed.Round(time.Millisecond), float64(written)/elapsed.Seconds(), float64(sent)/5/elapsed.Seconds()/1000, dropped)
	conv := time.Now()
	waitFor(t, 3*time.Minute, "convergence after the burst", func() bool { return sameStores(t, nodes) })
	t.Logf("identical stores %v after the burst ended (gossip plus anti-entropy)", time.Since(conv).Round(time.Millisecond))
}

func TestMeasurePartitionConvergence(t *testing.T) {
	needBench(t)
	nodes, _, f := lanNodes(t, 5)
	left, right := nodes[:2], nodes[2:]
	for _, nd := range nodes {
		nd.c.SetJoin([]string{nodes[0].c.Addr(), nodes[2].c.Addr()})
	}
	f.partition(left, right)
	waitFor(t, 2*time.Minute, "partition seen", func() bool {
		return left[0].c.NumMembers() == 2 && right[0].c.NumMembers() == 3
	})
	// 100,000 diverged profiles: 50,000 written on each side, 10,000 of
	// them the same ids on both, each side already in agreement with
	// itself.
	const per = 50000
	clock := msync.NewClock(nil)
	seed := func(side []*testNode, prefix string, from int) {
		for i := range per {
			p := &profile.Profile{ID: fmt.Sprintf("%s%06d", prefix, from+i), Version: clock.Now(), Node: side[0].c.Name(),
				Attrs: map[string]any{"side": side[0].c.Name(), "n": i}, Sessions: i}
			for _, nd := range side {
				if _, err := nd.store.MergeRemote(p); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	seed(left, "p", 0)
	seed(right, "p", per-10000)
	t0 := time.Now()
	d, _ := nodes[0].store.Digest(msync.DefaultDigestBuckets, 0)
	t.Logf("digest (1024 buckets) of a store of %d profiles: %v", per, time.Since(t0))
	_ = d
	f.heal()
	healed := time.Now()
	waitFor(t, 3*time.Minute, "identical stores after healing", func() bool { return sameStores(t, nodes) })
	took := time.Since(healed)
	var moved uint64
	for _, nd := range nodes {
		moved += nd.c.Metrics().ProfilesTransferred.Load()
	}
	n, _ := nodes[0].store.Len()
	t.Logf("after healing a 2|3 partition with %d diverged profiles: identical stores in %v (%d profiles each, %d records transferred)",
		2*per, took.Round(time.Millisecond), n, moved)
}

// TestMeasurePurgeVisibility: the time from PublishPurge on one of 5
// nodes (the admin API applies it there first, synchronously) to its
// application by the caches of the 4 others, over 50 purges issued 10 a
// second from each node in turn.
func TestMeasurePurgeVisibility(t *testing.T) {
	needBench(t)
	nodes, _, _ := lanNodes(t, 5)
	caches := withCaches(nodes)
	const purges = 50
	issued := make(map[string]time.Time, purges)
	for i := range purges {
		k := fmt.Sprintf("/visible/%d", i)
		issued[k] = time.Now()
		if err := nodes[i%5].c.PublishPurge(cache.Purge{URLs: []string{k}, At: time.Now()}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	var lat []time.Duration
	waitFor(t, 60*time.Second, "every purge applied on the 4 other nodes", func() bool {
		lat = lat[:0]
		for k, at := range issued {
			var last time.Time
			for i, c := range caches {
				if i == keyNode(k) {
					continue
				}
				c.mu.Lock()
				got, ok := c.at[k]
				c.mu.Unlock()
				if !ok {
					return false
				}
				last = maxTime(last, got)
			}
			lat = append(lat, last.Sub(at))
		}
		return true
	})
	t.Logf("purge applied on all 5 nodes: p50 %v, p99 %v, max %v (n=%d, 10 purges/s, LAN preset)",
		percentile(lat, .5).Round(100*time.Microsecond), percentile(lat, .99).Round(100*time.Microsecond), percentile(lat, 1).Round(100*time.Microsecond), len(lat))
}

// keyNode is the node that issued /visible/i.
func keyNode(k string) int {
	var i int
	fmt.Sscanf(k, "/visible/%d", &i)
	return i % 5
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// TestMeasurePurgeAfterHeal: a node cut off from the 4 others while a
// purge is published learns it by anti-entropy; the time from the heal to
// its application, over 5 rounds.
func TestMeasurePurgeAfterHeal(t *testing.T) {
	needBench(t)
	nodes, _, f := lanNodes(t, 5)
	caches := withCaches(nodes)
	var lat []time.Duration
	for round := range 5 {
		k := fmt.Sprintf("/healed/%d", round)
		f.partition(nodes[4:], nodes[:4])
		if err := nodes[0].c.PublishPurge(cache.Purge{URLs: []string{k}, At: time.Now()}); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 10*time.Second, "nodes 2 to 4 applied the purge", func() bool {
			for _, c := range caches[1:4] {
				c.mu.Lock()
				_, ok := c.at[k]
				c.mu.Unlock()
				if !ok {
					return false
				}
			}
			return true
		})
		f.heal()
		healed := time.Now()
		waitFor(t, 60*time.Second, "node 5 applied the purge", func() bool {
			c := caches[4]
			c.mu.Lock()
			defer c.mu.Unlock()
			_, ok := c.at[k]
			return ok
		})
		lat = append(lat, time.Since(healed).Round(time.Millisecond))
	}
	slices.Sort(lat)
	t.Logf("purge applied by a node partitioned during it, after the heal: %v (5 rounds, push/pull every 15s, LAN preset)", lat)
}
