package cluster

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/marquee-proxy/marquee/cache"
)

// Purges of the edge cache travel beside profiles:
//
//  1. PublishPurge keeps a purge this node has applied in the purge log
//     and sends it over reliable streams straight to every live member
//     that understands purges (wireMetaPurge), one hop, in parallel;
//  2. a receiver keeps each purge it did not know in its own log and
//     gives it to its Cache, once;
//  3. after every push/pull, each side that keeps purges sends the other
//     the count and sum of its log (kindPurgeSum, by UDP); a peer whose
//     log differs sends back the ids it keeps (kindPurgePull) and is
//     answered with the purges it lacks. A node partitioned during a
//     purge learns it this way at heal, within a push/pull interval.
//
// Late application is safe because a cache drops only entries fetched
// before the purge's At; applying a purge again would drop nothing more
// (clock skew between the nodes aside), so relearning one that the log
// has forgotten costs nothing.

// Cache is the node's edge cache as the cluster sees it: it is given every
// purge this node learns from another node, once. Purge is called from the
// cluster's inbox goroutines, several at once, and must not block for
// long. p's slices are shared with the purge log: the callee must not
// modify them. It returns how many entries it dropped.
type Cache interface {
	Purge(p cache.Purge) int
}

// cacheBox holds a Cache behind an atomic pointer.
type cacheBox struct{ c Cache }

// SetCache sets the cache that purges from other nodes are applied to;
// nil (the default) applies them to nothing. Purges are kept and passed on
// to other nodes either way, so a node without a cache still carries them
// across a fleet.
func (c *Cluster) SetCache(cc Cache) {
	if cc == nil {
		c.cache.Store(nil)
		return
	}
	c.cache.Store(&cacheBox{c: cc})
}

// ErrPurge reports a purge PublishPurge refuses.
var ErrPurge = errors.New("cluster: purge refused")

// PublishPurge keeps p, which this node has just applied, in the purge
// log and sends it to every other node; nodes that miss it learn it from
// the log by anti-entropy. It does not block on the network. It refuses
// a purge that does not validate, has no At (or one before 1970), or is
// larger than a purge the wire carries (1 MiB), with ErrPurge, and
// returns ErrShutdown after Shutdown. The log keeps p's slices: the
// caller must not modify them afterwards.
func (c *Cluster) PublishPurge(p cache.Purge) error {
	if c.closed.Load() {
		return ErrShutdown
	}
	if err := p.Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrPurge, err)
	}
	if p.At.Before(time.Unix(1, 0)) || p.At.After(time.Unix(0, math.MaxInt64)) {
		// The wire carries At in Unix nanoseconds, 0 meaning none.
		return fmt.Errorf("%w: time %v outside 1970 to 2262", ErrPurge, p.At)
	}
	now := time.Now()
	lp := loggedPurge{ID: purgeID{Node: c.cfg.NodeName, Stamp: c.purges.issue(now)}, Purge: p}
	size := purgeSize(&lp)
	if size > maxPurgeBytes {
		return fmt.Errorf("%w: %d bytes encoded, at most %d", ErrPurge, size, maxPurgeBytes)
	}
	c.purges.add(lp, size, now)
	c.metrics.PurgesPublished.Add(1)
	msg := encodePurges([]loggedPurge{lp})
	for _, n := range c.others() {
		if hasPurgeSuffix(n.Meta) {
			// In parallel: a member that died unnoticed would hold up
			// the others for a whole dial timeout.
			c.sendPurge(n.Name, msg)
		}
	}
	return nil
}

// maxPurgeSends bounds the purge messages being sent at once, so that a
// burst of purges, or of pulls from peers, costs a bounded number of
// goroutines and connections.
const maxPurgeSends = 128

// sendPurge sends msg to the member called name in the background, unless
// maxPurgeSends are under way: that send is then skipped and counted, and
// the purge log carries what it held at the next push/pull.
func (c *Cluster) sendPurge(name string, msg []byte) {
	select {
	case c.purgeSends <- struct{}{}:
	default:
		c.metrics.PurgeSendsSkipped.Add(1)
		return
	}
	c.goSend(func() {
		defer func() { <-c.purgeSends }()
		if err := c.sendTo(name, msg); err != nil {
			c.log.Debug("purge", "to", name, "err", err)
		}
	})
}

// applyPurges keeps the purges not yet known and applies them to the
// cache.
func (c *Cluster) applyPurges(ps []loggedPurge) {
	now := time.Now()
	box := c.cache.Load()
	for i := range ps {
		if !c.purges.add(ps[i], purgeSize(&ps[i]), now) {
			continue
		}
		c.metrics.PurgesReceived.Add(1)
		if box != nil {
			c.metrics.PurgeEntriesDropped.Add(uint64(max(box.c.Purge(ps[i].Purge), 0)))
		}
	}
}

// offerPurges tells peer, after a push/pull, the count and sum of the
// purges this node keeps, when it keeps any and peer understands purges.
// A peer with purges this node lacks offers them in its own turn.
func (c *Cluster) offerPurges(peer string) {
	n, sum := c.purges.summary(time.Now())
	if n == 0 {
		return
	}
	c.mu.Lock()
	node := c.peers[peer]
	c.mu.Unlock()
	if node == nil || !hasPurgeSuffix(node.Meta) {
		return
	}
	msg := encodePurgeSum(&purgeSum{From: c.cfg.NodeName, Count: n, Sum: sum})
	if err := c.ml.SendBestEffort(node, msg); err == nil {
		c.metrics.BytesSent.Add(uint64(len(msg)))
	}
}

// handlePurgeSum asks the sender for the purges this node lacks when
// their logs differ.
func (c *Cluster) handlePurgeSum(s purgeSum) {
	if s.From == c.cfg.NodeName {
		return
	}
	now := time.Now()
	if n, sum := c.purges.summary(now); n == s.Count && sum == s.Sum {
		return
	}
	c.sendPurge(s.From, encodePurgePull(&purgePull{From: c.cfg.NodeName, Have: c.purges.ids(now)}))
}

// answerPurgePull sends the puller the purges it lacks, in pages of at
// most PageBytes.
func (c *Cluster) answerPurgePull(p purgePull) {
	if p.From == c.cfg.NodeName {
		return
	}
	missing := c.purges.missing(p.Have, time.Now())
	start, size := 0, 0
	for i := range missing {
		size += purgeSize(&missing[i])
		if size >= c.cfg.PageBytes || i == len(missing)-1 {
			c.sendPurge(p.From, encodePurges(missing[start:i+1]))
			start, size = i+1, 0
		}
	}
}
