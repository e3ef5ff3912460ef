package cluster

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/marquee-proxy/marquee/profile"
	msync "github.com/marquee-proxy/marquee/sync"
)

var testKeys = [][]byte{bytes.Repeat([]byte{7}, 32), bytes.Repeat([]byte{9}, 16)}

// testConfig is a loopback config on a free port.
func testConfig(name string) Config {
	cfg := DefaultConfig(Local)
	cfg.Name = "test"
	cfg.NodeName = name
	cfg.BindAddr = "127.0.0.1"
	cfg.BindPort = 0
	cfg.SecretKeys = testKeys
	cfg.PushPullInterval = 500 * time.Millisecond
	cfg.GossipInterval = 50 * time.Millisecond
	cfg.RejoinInterval = time.Second
	cfg.Buckets = testBuckets
	cfg.StatsInterval = 200 * time.Millisecond
	return cfg
}

// testBuckets is the digest size of test clusters, smaller than the
// default so that a differing bucket holds fewer records.
const testBuckets = 256

type testNode struct {
	store *msync.Store
	c     *Cluster
	rep   *fakeRep
}

// startNodes starts n encrypted nodes on loopback, each joining the first.
func startNodes(t testing.TB, n int, tweak func(i int, cfg *Config)) []*testNode {
	t.Helper()
	nodes := make([]*testNode, n)
	var seed []string
	for i := range n {
		name := fmt.Sprintf("node%d", i+1)
		cfg := testConfig(name)
		cfg.Join = seed
		if tweak != nil {
			tweak(i, &cfg)
		}
		st, err := msync.Open(msync.Options{Node: name, DigestBuckets: cfg.Buckets})
		if err != nil {
			t.Fatal(err)
		}
		rep := &fakeRep{stats: map[string][]byte{}}
		c, err := New(cfg, st, rep, "test", nil)
		if err != nil {
			st.Close()
			t.Fatal(err)
		}
		nodes[i] = &testNode{store: st, c: c, rep: rep}
		if i == 0 {
			seed = []string{c.Addr()}
		}
		t.Cleanup(func() {
			c.Shutdown(context.Background())
			st.Close()
		})
	}
	waitFor(t, 10*time.Second, "all nodes joined", func() bool {
		for _, nd := range nodes {
			if nd.c.NumMembers() != n {
				return false
			}
		}
		return true
	})
	return nodes
}

// waitFor polls cond every 10ms until it holds or timeout passes.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for i := 0; ; i++ {
		if cond() {
			return
		}
		if time.Now().After(deadline) || i > int(timeout/(10*time.Millisecond))+10 {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// fakeRep is a Replicator holding one document and counters per node.
type fakeRep struct {
	mu      sync.Mutex
	version uint64
	doc     []byte
	local   []byte
	stats   map[string][]byte
	// poison, when set, is called first by LocalConfig (with version 0)
	// and MergeConfig (with the version given): tests make it panic.
	poison func(method string, v uint64)
}

func (f *fakeRep) LocalConfig() (uint64, []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.poison != nil {
		f.poison("LocalConfig", 0)
	}
	return f.version, f.doc
}

func (f *fakeRep) MergeConfig(v uint64, data []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.poison != nil {
		f.poison("MergeConfig", v)
	}
	if v > f.version {
		f.version, f.doc = v, append([]byte(nil), data...)
	}
	return nil
}

func (f *fakeRep) LocalStats() []byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.local
}

func (f *fakeRep) MergeStats(node string, data []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stats[node] = append([]byte(nil), data...)
}

func (f *fakeRep) set(v uint64, doc string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.version, f.doc = v, []byte(doc)
}

func versionOf(t testing.TB, st *msync.Store, id string) profile.Version {
	p, err := st.Get(id)
	if err != nil {
		t.Fatal(err)
	}
	if p == nil {
		return 0
	}
	return p.Version
}

// Every node lists every member, itself included, alive at its address.
func TestMembersListing(t *testing.T) {
	nodes := startNodes(t, 3, nil)
	addrs := map[string]string{}
	for _, nd := range nodes {
		addrs[nd.c.Name()] = nd.c.Addr()
	}
	for _, nd := range nodes {
		ms := nd.c.Members()
		if len(ms) != len(nodes) {
			t.Fatalf("%s lists %+v", nd.c.Name(), ms)
		}
		for _, m := range ms {
			if m.Addr != addrs[m.Name] || m.State != "alive" || m.Self != (m.Name == nd.c.Name()) {
				t.Errorf("%s lists %+v, want alive at %s", nd.c.Name(), m, addrs[m.Name])
			}
		}
	}
}

func TestDeltaReachesEveryNode(t *testing.T) {
	nodes := startNodes(t, 5, nil)
	p, err := nodes[0].store.Update("v1", func(p *profile.Profile) error {
		p.Attrs = map[string]any{"tier": "gold"}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "profile on all nodes", func() bool {
		for _, nd := range nodes {
			if versionOf(t, nd.store, "v1") != p.Version {
				return false
			}
		}
		return true
	})
	got, _ := nodes[4].store.Get("v1")
	if got.Attrs["tier"] != "gold" {
		t.Errorf("got tier %v, want gold", got.Attrs["tier"])
	}

	// An erasure travels the same way and wins over the older write.
	if err := nodes[2].store.Erase("v1"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "erasure on all nodes", func() bool {
		for _, nd := range nodes {
			if versionOf(t, nd.store, "v1") != 0 || nd.store.ErasedAt("v1").IsZero() {
				return false
			}
		}
		return true
	})
	if m := nodes[0].c.Metrics(); m.DeltasSent.Load() == 0 {
		t.Errorf("no deltas counted as sent")
	}
}

func TestLargeProfileGoesReliable(t *testing.T) {
	nodes := startNodes(t, 3, nil)
	p, err := nodes[1].store.Update("big", func(p *profile.Profile) error {
		p.Attrs = map[string]any{}
		for i := range 400 {
			// Distinct values that do not compress away.
			p.Attrs[fmt.Sprintf("k%03d", i)] = fmt.Sprintf("%x", uint64(i)*0x9e3779b97f4a7c15)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "large profile on all nodes", func() bool {
		for _, nd := range nodes {
			if versionOf(t, nd.store, "big") != p.Version {
				return false
			}
		}
		return true
	})
	if nodes[1].c.Metrics().DeltasReliable.Load() == 0 {
		t.Errorf("large delta was not sent reliably")
	}
}

// digestOf is a store's digest at the cluster's bucket count.
func digestOf(t testing.TB, nd *testNode) []uint64 {
	d, err := nd.store.Digest(nd.c.cfg.Buckets, 0)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestAntiEntropyRepairsWhatGossipMissed(t *testing.T) {
	nodes := startNodes(t, 3, nil)
	// Imports are not gossiped: anti-entropy must carry them.
	recs := make([]msync.ProfileRecord, 2000)
	for i := range recs {
		recs[i] = msync.ProfileRecord{ID: fmt.Sprintf("imp%05d", i), Attrs: map[string]any{"n": i}}
	}
	if err := nodes[0].store.ImportProfiles(recs); err != nil {
		t.Fatal(err)
	}
	// And an erasure only one side knows of.
	if _, err := nodes[2].store.MergeTombstone("gone", profile.VersionAt(time.Now())); err != nil {
		t.Fatal(err)
	}
	want := digestOf(t, nodes[0])
	waitFor(t, 20*time.Second, "identical digests", func() bool {
		want = digestOf(t, nodes[0])
		for _, nd := range nodes[1:] {
			if !slices.Equal(digestOf(t, nd), want) {
				return false
			}
		}
		return true
	})
	for _, nd := range nodes {
		if n, _ := nd.store.Len(); n != len(recs) {
			t.Errorf("%s holds %d profiles, want %d", nd.c.Name(), n, len(recs))
		}
		if nd.store.ErasedAt("gone").IsZero() {
			t.Errorf("%s lacks the tombstone", nd.c.Name())
		}
	}
	var moved uint64
	for _, nd := range nodes {
		moved += nd.c.Metrics().ProfilesTransferred.Load()
	}
	if moved < uint64(2*len(recs)) {
		t.Errorf("anti-entropy transferred %d profiles, want at least %d", moved, 2*len(recs))
	}
}

func TestConfigAndStatsReplicate(t *testing.T) {
	nodes := startNodes(t, 5, nil)
	// A node that misses the broadcast catches up by version on push/pull:
	// node 5 is given the config before anyone is told.
	nodes[4].rep.set(7, "campaigns: v7")
	waitFor(t, 10*time.Second, "config v7 everywhere by anti-entropy", func() bool {
		for _, nd := range nodes {
			if v, _ := nd.rep.LocalConfig(); v != 7 {
				return false
			}
		}
		return true
	})
	nodes[0].rep.set(8, "campaigns: v8")
	nodes[0].c.PublishConfig()
	waitFor(t, 5*time.Second, "config v8 everywhere", func() bool {
		for _, nd := range nodes {
			if v, d := nd.rep.LocalConfig(); v != 8 || string(d) != "campaigns: v8" {
				return false
			}
		}
		return true
	})
	for i, nd := range nodes {
		nd.rep.mu.Lock()
		nd.rep.local = fmt.Appendf(nil, "counters of %d", i+1)
		nd.rep.mu.Unlock()
	}
	waitFor(t, 10*time.Second, "every node has every other's counters", func() bool {
		for _, nd := range nodes {
			nd.rep.mu.Lock()
			n := len(nd.rep.stats)
			nd.rep.mu.Unlock()
			if n != len(nodes)-1 {
				return false
			}
		}
		return true
	})
}

func TestLoneNodeServesAndJoinsLater(t *testing.T) {
	st, err := msync.Open(msync.Options{Node: "a"})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	// A seed nobody listens on: the node starts alone.
	cfgB := testConfig("b")
	stB, _ := msync.Open(msync.Options{Node: "b"})
	defer stB.Close()
	b, err := New(cfgB, stB, nil, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	seed := b.Addr()
	b.Shutdown(context.Background())
	b.Shutdown(context.Background()) // idempotent

	cfg := testConfig("a")
	cfg.Join = []string{seed}
	a, err := New(cfg, st, nil, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Shutdown(context.Background())
	if _, err := st.Update("x", func(*profile.Profile) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if a.NumMembers() != 1 {
		t.Fatalf("got %d members, want 1", a.NumMembers())
	}
}

func TestLabelKeepsFleetsApart(t *testing.T) {
	nodes := startNodes(t, 1, nil)
	st, _ := msync.Open(msync.Options{Node: "other"})
	defer st.Close()
	cfg := testConfig("other")
	cfg.Name = "another-fleet"
	o, err := New(cfg, st, nil, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer o.Shutdown(context.Background())
	if n, err := o.Join([]string{nodes[0].c.Addr()}); err == nil || n != 0 {
		t.Errorf("join across fleets: got %d, %v; want an error", n, err)
	}
}

func TestKeyRotation(t *testing.T) {
	// Node 2 already sends with the new key; node 1 still sends with the
	// old one but accepts both.
	nodes := startNodes(t, 2, func(i int, cfg *Config) {
		if i == 1 {
			cfg.SecretKeys = [][]byte{testKeys[1], testKeys[0]}
		}
	})
	p, _ := nodes[1].store.Update("r", func(*profile.Profile) error { return nil })
	waitFor(t, 5*time.Second, "delta across a key rotation", func() bool {
		return versionOf(t, nodes[0].store, "r") == p.Version
	})
}

func TestQueueIsBounded(t *testing.T) {
	st, _ := msync.Open(msync.Options{Node: "solo"})
	defer st.Close()
	cfg := testConfig("solo")
	cfg.MaxQueue = 100
	c, err := New(cfg, st, nil, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Shutdown(context.Background())
	for i := range 1000 {
		if _, err := st.Update(fmt.Sprintf("q%d", i), func(*profile.Profile) error { return nil }); err != nil {
			t.Fatal(err)
		}
	}
	if n := c.queue.NumQueued(); n > 100 {
		t.Errorf("queue holds %d, want at most 100", n)
	}
	if d := c.Metrics().DeltasDropped.Load(); d == 0 {
		t.Errorf("no drops counted")
	}
}
