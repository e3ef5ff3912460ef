package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"strconv"
	"sync"

	"github.com/marquee-proxy/marquee/admin"
	"github.com/marquee-proxy/marquee/cache"

	"github.com/marquee-proxy/marquee/cluster"
	"github.com/marquee-proxy/marquee/config"
	"github.com/marquee-proxy/marquee/decide/stats"
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
	set(&cc.PurgeRetention, cl.PurgeRetention.D())
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
	campaigns *campaignLog
	rec       *stats.Recorder
	node      string

	mu     sync.Mutex
	remote map[string]stats.NodeState
}

func newReplicator(campaigns *campaignLog, rec *stats.Recorder, node string) *replicator {
	return &replicator{campaigns: campaigns, rec: rec, node: node, remote: make(map[string]stats.NodeState)}
}

// LocalConfig implements cluster.Replicator: the version this node
// serves, as its history records it (so it survives restarts).
func (r *replicator) LocalConfig() (uint64, []byte) {
	return r.campaigns.current()
}

// MergeConfig compiles a newer document from another node, records it in
// the history under its version and swaps it in.
func (r *replicator) MergeConfig(v uint64, data []byte) error {
	return r.campaigns.merge(v, data)
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

// PublishCampaigns implements admin.Cluster. The document is already the
// current version of the node's history, which the replicator serves.
func (p *clusterParts) PublishCampaigns(doc []byte) {
	p.c.PublishConfig()
}

// PublishPurge implements admin.PurgePublisher.
func (p *clusterParts) PublishPurge(pu cache.Purge) error {
	return p.c.PublishPurge(pu)
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
	rep := newReplicator(n.campaigns, n.stats, nodeName(n.cfg))
	c, err := cluster.New(cc, n.store, rep, version, n.log)
	if err != nil {
		return err
	}
	n.clu = &clusterParts{c: c, rep: rep}
	n.campaigns.mu.Lock()
	n.campaigns.publish = c.PublishConfig
	n.campaigns.mu.Unlock()
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

// useCache makes c the cache that purges reach, from the admin API and
// from the fleet; nil: the node caches nothing.
func (n *node) useCache(c edgeCache) {
	n.cache = c
	if n.clu != nil {
		n.clu.c.SetCache(c)
	}
}

// adminCache is the cache the admin API purges, or nil when it is off.
func (n *node) adminCache() admin.Cache {
	if n.cache == nil {
		return nil
	}
	return n.cache
}

// purgePublisher replicates the admin API's purges, or is nil for a
// single node.
func (n *node) purgePublisher() admin.PurgePublisher {
	if n.clu == nil {
		return nil
	}
	return n.clu
}

// adminCluster is the fleet the admin API shows and publishes to, or nil
// for a single node.
func (n *node) adminCluster() admin.Cluster {
	if n.clu == nil {
		return nil
	}
	return n.clu
}
