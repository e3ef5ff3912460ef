package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"

	"github.com/marquee-proxy/marquee/admin"
	"github.com/marquee-proxy/marquee/personalize"
	"github.com/marquee-proxy/marquee/profile"

	"github.com/marquee-proxy/marquee/cluster"
	"github.com/marquee-proxy/marquee/config"
	"github.com/marquee-proxy/marquee/decide/stats"
	msync "github.com/marquee-proxy/marquee/sync"
)

// clusterConfig maps the cluster: section onto cluster.Config.
func clusterConfig(cfg *config.Config) (cluster.Config, error) {
	cl := cfg.Cluster
	preset, err := cluster.ParsePreset(cl.Preset)
	if err != nil {
		return cluster.Config{}, err
	}
	cc := cluster.DefaultConfig(preset)
	set(&cc.Name, cl.Name)
	cc.NodeName = nodeName(cfg)
	if cl.Bind != "" {
		if cc.BindAddr, cc.BindPort, err = splitPort(cl.Bind); err != nil {
			return cc, fmt.Errorf("cluster.bind: %w", err)
		}
	}
	if cl.Advertise != "" {
		if cc.AdvertiseAddr, cc.AdvertisePort, err = splitPort(cl.Advertise); err != nil {
			return cc, fmt.Errorf("cluster.advertise: %w", err)
		}
	}
	cc.Join = cl.Join
	for _, k := range cl.SecretKeys {
		b, err := config.DecodeKey(k)
		if err != nil {
			return cc, fmt.Errorf("cluster.secret_keys: %w", err)
		}
		cc.SecretKeys = append(cc.SecretKeys, b)
	}
	return cc, nil
}

func splitPort(hp string) (string, int, error) {
	h, p, err := net.SplitHostPort(hp)
	if err != nil {
		return "", 0, err
	}
	n, err := strconv.Atoi(p)
	if err != nil {
		return "", 0, err
	}
	return h, n, nil
}

// replicator replicates the decisions document (segments, campaigns,
// slots, experiments, catalog) and the experiment counters between nodes.
// A document's version is a reading of the store's hybrid logical clock
// when it was put, so versions order across nodes.
type replicator struct {
	pers  *personalize.Personalizer
	rec   *stats.Recorder
	node  string
	clock *msync.Clock
	log   *slog.Logger

	mu      sync.Mutex
	version uint64
	doc     []byte
	remote  map[string]stats.NodeState
}

func newReplicator(pers *personalize.Personalizer, rec *stats.Recorder, node string, clock *msync.Clock, log *slog.Logger) *replicator {
	return &replicator{pers: pers, rec: rec, node: node, clock: clock, log: log, remote: make(map[string]stats.NodeState)}
}

// LocalConfig implements cluster.Replicator.
func (r *replicator) LocalConfig() (uint64, []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.version, r.doc
}

// MergeConfig compiles a newer document from another node and swaps it in.
func (r *replicator) MergeConfig(v uint64, data []byte) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if v <= r.version {
		return nil
	}
	cfg, err := r.pers.Snapshot().Config.WithDecisions("cluster", data)
	if err != nil {
		return err
	}
	snap, err := personalize.Compile(cfg)
	if err != nil {
		return err
	}
	r.pers.Swap(snap)
	r.clock.Observe(profile.Version(v))
	r.version, r.doc = v, append([]byte(nil), data...)
	r.log.Info("campaigns replaced from the cluster", "version", v)
	return nil
}

// put records a document accepted by this node's admin API.
func (r *replicator) put(data []byte) {
	r.mu.Lock()
	r.version, r.doc = uint64(r.clock.Now()), data
	r.mu.Unlock()
}

// LocalStats implements cluster.Replicator.
func (r *replicator) LocalStats() []byte {
	b, err := json.Marshal(r.rec.State(r.node))
	if err != nil {
		return nil
	}
	return b
}

// MergeStats keeps the latest counters of another node.
func (r *replicator) MergeStats(node string, data []byte) {
	st, err := stats.DecodeNodeState(data)
	if err != nil || st.Node != node {
		return
	}
	r.mu.Lock()
	if old, ok := r.remote[node]; !ok || !st.At.Before(old.At) {
		r.remote[node] = st
	}
	r.mu.Unlock()
}

// report merges this node's counters with the others'.
func (r *replicator) report() stats.Report {
	states := []stats.NodeState{r.rec.State(r.node)}
	r.mu.Lock()
	for _, st := range r.remote {
		states = append(states, st)
	}
	r.mu.Unlock()
	return stats.Merge(states...)
}

// clusterParts are a node's cluster membership and what it replicates.
type clusterParts struct {
	c   *cluster.Cluster
	rep *replicator
}

// Status implements admin.Cluster.
func (p *clusterParts) Status() any {
	return map[string]any{"node": p.c.Name(), "addr": p.c.Addr(), "members": p.c.Members()}
}

// PublishCampaigns implements admin.Cluster.
func (p *clusterParts) PublishCampaigns(doc []byte) {
	p.rep.put(doc)
	p.c.PublishConfig()
}

// startCluster joins the fleet when the config has a cluster: section.
func (n *node) startCluster() error {
	if n.cfg.Cluster == nil {
		return nil
	}
	cc, err := clusterConfig(n.cfg)
	if err != nil {
		return err
	}
	rep := newReplicator(n.pers, n.stats, nodeName(n.cfg), n.store.Clock(), n.log)
	c, err := cluster.New(cc, n.store, rep, version, n.log)
	if err != nil {
		return err
	}
	n.clu = &clusterParts{c: c, rep: rep}
	n.registry.MustRegister(c.Metrics())
	n.log.Info("cluster started", "node", c.Name(), "addr", c.Addr(), "join", cc.Join)
	return nil
}

// stopCluster leaves the fleet.
func (n *node) stopCluster(ctx context.Context) error {
	if n.clu == nil {
		return nil
	}
	return n.clu.c.Shutdown(ctx)
}

// report is the experiment report: the fleet's when clustered.
func (n *node) report() any {
	if n.clu != nil {
		return n.clu.rep.report()
	}
	return n.stats.Report(nodeName(n.cfg))
}

// adminCluster is the fleet the admin API shows and publishes to, or nil
// for a single node.
func (n *node) adminCluster() admin.Cluster {
	if n.clu == nil {
		return nil
	}
	return n.clu
}
