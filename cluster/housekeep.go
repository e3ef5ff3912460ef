package cluster

import (
	"time"

	"github.com/marquee-proxy/marquee/internal/background"
	"github.com/marquee-proxy/marquee/profile"
)

// housekeepLoop collects old tombstones, forgets departed nodes and
// gossips this node's counters.
func (c *Cluster) housekeepLoop() {
	gc := time.NewTicker(time.Hour)
	defer gc.Stop()
	st := time.NewTicker(c.cfg.StatsInterval)
	defer st.Stop()
	// Members stops listing a departed node after DeadNodeReclaimTime;
	// pruning at that period (a second at least) forgets it at most one
	// period later.
	pr := time.NewTicker(max(c.cfg.departedFor(), time.Second))
	defer pr.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-pr.C:
			c.pruneDeparted()
		case <-gc.C:
			// Each chore is guarded alone: a panic restarting the loop
			// would also restart the hourly ticker, which would then
			// never fire while the other chore kept panicking.
			background.Guard(c.log, "cluster.housekeep", c.collectTombstones)
		case <-st.C:
			background.Guard(c.log, "cluster.housekeep", c.PublishStats)
		}
	}
}

// pruneDeparted forgets the nodes that departed longer than
// DeadNodeReclaimTime ago.
func (c *Cluster) pruneDeparted() {
	cutoff := time.Now().Add(-c.cfg.departedFor())
	c.mu.Lock()
	defer c.mu.Unlock()
	for name, g := range c.gone {
		if !g.at.After(cutoff) {
			delete(c.gone, name)
		}
	}
}

// collectTombstones drops tombstones older than the retention.
func (c *Cluster) collectTombstones() {
	n, err := c.store.CollectTombstones(c.tombstoneCutoff())
	if err != nil {
		c.log.Warn("collect tombstones", "err", err)
	} else if n > 0 {
		c.log.Info("collected tombstones", "n", n)
	}
}

// tombstoneCutoff is the version before which tombstones are collected.
func (c *Cluster) tombstoneCutoff() profile.Version {
	return profile.VersionAt(time.Now().Add(-c.cfg.TombstoneRetention))
}
