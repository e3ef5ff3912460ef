package cluster

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/marquee-proxy/marquee/cache"
)

// fakeCache records the purges it is asked to apply, and when.
type fakeCache struct {
	mu  sync.Mutex
	got []cache.Purge
	at  map[string]time.Time // by key(p)
}

func newFakeCache() *fakeCache { return &fakeCache{at: make(map[string]time.Time)} }

// key names a test purge by its first item.
func key(p cache.Purge) string {
	for _, l := range [][]string{p.URLs, p.Prefixes, p.Tags} {
		if len(l) > 0 {
			return l[0]
		}
	}
	return "all"
}

func (f *fakeCache) Purge(p cache.Purge) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.got = append(f.got, p)
	if _, ok := f.at[key(p)]; !ok {
		f.at[key(p)] = time.Now()
	}
	return len(p.URLs) + len(p.Prefixes) + len(p.Tags)
}

func (f *fakeCache) purges() []cache.Purge {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.got)
}

// keys lists the purges applied, by key, sorted.
func (f *fakeCache) keys() []string {
	var out []string
	for _, p := range f.purges() {
		out = append(out, key(p))
	}
	slices.Sort(out)
	return out
}

// withCaches gives each node a fake cache.
func withCaches(nodes []*testNode) []*fakeCache {
	out := make([]*fakeCache, len(nodes))
	for i, nd := range nodes {
		out[i] = newFakeCache()
		nd.c.SetCache(out[i])
	}
	return out
}

// A purge by URL, by prefix and by tag, published on node 1, reaches node
// 2 at once and node 3, cut off from both meanwhile, once the partition
// heals; each cache applies each purge once, with the time it was issued
// with, however many push/pulls pass.
func TestPurgeReachesPartitionedNodeAfterHeal(t *testing.T) {
	f := newFabric()
	trs := make([]*faultyTransport, 3)
	nodes := startNodes(t, 3, func(i int, cfg *Config) {
		cfg.wrapTransport = onFabric(f, &trs[i])
		cfg.tune = fastFailureDetection
	})
	caches := withCaches(nodes)
	f.partition(nodes[:2], nodes[2:])

	at := time.Now().Add(-time.Minute).UTC() // backdated: "before my deploy"
	purges := []cache.Purge{
		{URLs: []string{"https://shop.example/p/1"}, At: at},
		{Prefixes: []string{"/category/"}, At: at},
		{Tags: []string{"product-7"}, At: at},
	}
	for _, p := range purges {
		if err := nodes[0].c.PublishPurge(p); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{"/category/", "https://shop.example/p/1", "product-7"}
	waitFor(t, 10*time.Second, "node 2 applied the three purges", func() bool {
		return slices.Equal(caches[1].keys(), want)
	})
	if got := caches[2].keys(); len(got) != 0 {
		t.Fatalf("node 3 applied %q across the partition", got)
	}
	if got := caches[0].keys(); len(got) != 0 {
		t.Errorf("node 1 applied its own purges %q again: the caller applies them", got)
	}

	f.heal()
	waitFor(t, 30*time.Second, "node 3 applied the three purges after the heal", func() bool {
		return slices.Equal(caches[2].keys(), want)
	})
	// A few more push/pull rounds (500ms each) apply nothing twice.
	time.Sleep(1500 * time.Millisecond)
	for i, c := range caches[1:] {
		if got := c.keys(); !slices.Equal(got, want) {
			t.Errorf("node %d applied %q, want each of %q once", i+2, got, want)
		}
		for _, p := range c.purges() {
			if !p.At.Equal(at) {
				t.Errorf("node %d applied %q at %v, want %v", i+2, key(p), p.At, at)
			}
		}
	}
	if n := nodes[2].c.Metrics().PurgesReceived.Load(); n != 3 {
		t.Errorf("node 3 counts %d purges received, want 3", n)
	}
}

// A node that keeps no cache still keeps purges and passes them on: node
// 3, cut off from node 1 only, learns node 1's purge from node 2, which
// has no cache, by anti-entropy.
func TestPurgeRelayedByNodeWithoutCache(t *testing.T) {
	f := newFabric()
	trs := make([]*faultyTransport, 3)
	nodes := startNodes(t, 3, func(i int, cfg *Config) {
		cfg.wrapTransport = onFabric(f, &trs[i])
	})
	c3 := newFakeCache()
	nodes[2].c.SetCache(c3)
	f.partition(nodes[:1], nodes[2:])
	if err := nodes[0].c.PublishPurge(cache.Purge{Tags: []string{"t1"}, At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "node 3 applied the purge", func() bool {
		return slices.Equal(c3.keys(), []string{"t1"})
	})
	if n := nodes[1].c.purges.len(); n != 1 {
		t.Errorf("node 2 keeps %d purges, want 1", n)
	}
}

// Purges published at once on every node, while nodes' caches are
// swapped, reach every other node once each.
func TestConcurrentPurges(t *testing.T) {
	nodes := startNodes(t, 3, nil)
	caches := withCaches(nodes)
	const perNode, workers = 20, 4
	var wg sync.WaitGroup
	for i, nd := range nodes {
		for w := range workers {
			wg.Go(func() {
				for j := range perNode / workers {
					p := cache.Purge{URLs: []string{fmt.Sprintf("/n%d/w%d/%d", i, w, j)}, At: time.Now()}
					if err := nd.c.PublishPurge(p); err != nil {
						t.Error(err)
					}
				}
			})
		}
		wg.Go(func() {
			for range 50 {
				nd.c.SetCache(caches[i])
			}
		})
	}
	wg.Wait()
	for i, c := range caches {
		waitFor(t, 20*time.Second, fmt.Sprintf("node %d applied the others' purges", i+1), func() bool {
			return len(c.purges()) >= perNode*(len(nodes)-1)
		})
	}
	time.Sleep(time.Second) // a push/pull round or two
	for i, c := range caches {
		keys := c.keys()
		if len(keys) != perNode*(len(nodes)-1) || len(slices.Compact(keys)) != len(keys) {
			t.Errorf("node %d applied %d purges (%d distinct), want %d once each", i+1, len(c.keys()), len(slices.Compact(keys)), perNode*(len(nodes)-1))
		}
		if n := nodes[i].c.purges.len(); n != perNode*len(nodes) {
			t.Errorf("node %d keeps %d purges, want %d", i+1, n, perNode*len(nodes))
		}
	}
}

func TestPublishPurgeRefuses(t *testing.T) {
	nodes := startNodes(t, 1, nil)
	tests := []struct {
		name string
		p    cache.Purge
	}{
		{"names nothing", cache.Purge{At: time.Now()}},
		{"no time", cache.Purge{All: true}},
		{"before 1970", cache.Purge{All: true, At: time.Unix(-5, 0)}},
		{"bad url", cache.Purge{URLs: []string{"ftp://x"}, At: time.Now()}},
	}
	for _, tt := range tests {
		if err := nodes[0].c.PublishPurge(tt.p); err == nil {
			t.Errorf("%s: published", tt.name)
		}
	}
	if n := nodes[0].c.purges.len(); n != 0 {
		t.Errorf("%d purges kept", n)
	}
}

// A node of the release before purges (no " +purge" in its meta) is sent
// neither purges nor purge sums, which it would count as malformed; the
// others exchange them as usual.
func TestNoPurgesToPreviousRelease(t *testing.T) {
	nodes := startNodes(t, 3, func(i int, cfg *Config) {
		if i == 2 {
			cfg.announce = func([]byte) []byte { return []byte("1.5.0" + wireMetaSuffix) }
		}
	})
	caches := withCaches(nodes)
	if !hasPurgeSuffix(nodes[0].c.meta) || hasPurgeSuffix(nodes[2].c.meta) {
		t.Fatalf("metas %q and %q", nodes[0].c.meta, nodes[2].c.meta)
	}
	if err := nodes[0].c.PublishPurge(cache.Purge{Tags: []string{"t1"}, At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "node 2 applied the purge", func() bool {
		return slices.Equal(caches[1].keys(), []string{"t1"})
	})
	rounds := nodes[2].c.Metrics().AntiEntropyRounds.Load()
	waitFor(t, 20*time.Second, "three push/pulls on node 3", func() bool {
		return nodes[2].c.Metrics().AntiEntropyRounds.Load() >= rounds+3
	})
	if got := caches[2].keys(); len(got) != 0 || nodes[2].c.purges.len() != 0 {
		t.Errorf("the previous-release node was sent purges: applied %q", got)
	}
	if n := nodes[2].c.Metrics().BytesReceived.Load(); n != 0 {
		t.Errorf("the previous-release node received %d bytes of user messages, want 0", n)
	}
}

// With every send slot taken, a purge is not sent at once but still
// reaches the other nodes from the purge log, at the next push/pull.
func TestPurgeSendsBounded(t *testing.T) {
	nodes := startNodes(t, 2, nil)
	caches := withCaches(nodes)
	for range maxPurgeSends {
		nodes[0].c.purgeSends <- struct{}{}
	}
	if err := nodes[0].c.PublishPurge(cache.Purge{URLs: []string{"/busy"}, At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if n := nodes[0].c.Metrics().PurgeSendsSkipped.Load(); n != 1 {
		t.Errorf("%d sends skipped, want 1", n)
	}
	for range maxPurgeSends {
		<-nodes[0].c.purgeSends
	}
	waitFor(t, 10*time.Second, "node 2 applied the purge", func() bool {
		return slices.Equal(caches[1].keys(), []string{"/busy"})
	})
}
