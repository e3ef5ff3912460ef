package cluster

import (
	"encoding/json"
	"slices"
	"time"

	"github.com/hashicorp/memberlist"

	"github.com/marquee-proxy/marquee/internal/background"
	"github.com/marquee-proxy/marquee/profile"
	msync "github.com/marquee-proxy/marquee/sync"
)

// delegate adapts the Cluster to memberlist's Delegate and EventDelegate.
// memberlist calls these from its own goroutines, several at once; none
// may block, so anything that touches the store or the network is handed
// to the cluster's loops through bounded channels.
type delegate struct{ c *Cluster }

// NodeMeta returns the meta announced with this node.
func (d *delegate) NodeMeta(limit int) []byte {
	if len(d.c.meta) > limit {
		return d.c.meta[:limit]
	}
	return d.c.meta
}

// NotifyMsg receives a user message, from UDP gossip or a reliable
// stream. buf is memberlist's: it is copied before it is queued. When the
// queue is full the message is dropped and counted; anti-entropy repairs
// whatever it carried.
func (d *delegate) NotifyMsg(buf []byte) {
	c := d.c
	if len(buf) == 0 || c.closed.Load() || !c.ready.Load() {
		return
	}
	c.metrics.BytesReceived.Add(uint64(len(buf)))
	msg := append([]byte(nil), buf...)
	ch := c.inbox
	if k := kind(msg[0]); k == kindPull || k == kindPullSum {
		ch = c.pulls
	}
	select {
	case ch <- msg:
	default:
		c.metrics.InboxDropped.Add(1)
	}
}

// GetBroadcasts hands queued deltas to memberlist's gossip.
func (d *delegate) GetBroadcasts(overhead, limit int) [][]byte {
	return d.c.queue.GetBroadcasts(overhead, limit)
}

// LocalState is this node's half of a push/pull: its name, config
// version and digest, never the store. It runs on memberlist's goroutine
// and calls the Replicator and the store, so a panic is recovered here,
// and the push/pull goes on without our state.
func (d *delegate) LocalState(join bool) (st []byte) {
	background.Guard(d.c.log, "cluster.antientropy.state", func() { st = d.c.localState() })
	return st
}

// MergeRemoteState compares a peer's digest with ours and, when buckets
// differ, queues a pull of them from that peer; when its config is newer,
// asks for it. buf is memberlist's and is not retained. It decodes what
// the peer sent on memberlist's goroutine, so a panic is recovered here.
func (d *delegate) MergeRemoteState(buf []byte, join bool) {
	background.Guard(d.c.log, "cluster.antientropy.state", func() { d.c.mergeRemoteState(buf) })
}

func (c *Cluster) localState() []byte {
	st := state{From: c.cfg.NodeName}
	if c.rep != nil {
		st.ConfigVersion, _ = c.rep.LocalConfig()
	}
	dg, err := c.localDigest()
	if err != nil {
		c.log.Warn("digest", "err", err)
		dg = make([]uint64, c.cfg.Buckets)
	}
	st.Digest = dg
	return encodeState(&st)
}

func (c *Cluster) mergeRemoteState(buf []byte) {
	if c.closed.Load() || !c.ready.Load() {
		return
	}
	st, err := decodeState(buf)
	if err != nil {
		c.log.Debug("push/pull state", "err", err)
		c.metrics.Malformed.Add(1)
		return
	}
	if st.From == c.cfg.NodeName {
		return
	}
	c.metrics.AntiEntropyRounds.Add(1)
	if c.rep != nil {
		if v, _ := c.rep.LocalConfig(); st.ConfigVersion > v {
			from := st.From
			c.goSend(func() { _ = c.sendTo(from, encodeName(kindConfigPull, c.cfg.NodeName)) })
		}
	}
	c.comparePeer(st.From, st.Digest)
	c.offerPurges(st.From)
}

// NotifyJoin, NotifyLeave and NotifyUpdate keep the copies of live
// members the cluster sends to, and the departed nodes for Members
// (pruned by housekeepLoop).
// memberlist calls them one at a time, holding its node lock, so n can be
// read here and nowhere later. A member's address changes only through
// death and a new join: a live name claimed from another address is a
// conflict memberlist refuses.
func (d *delegate) NotifyJoin(n *memberlist.Node) {
	d.c.mu.Lock()
	delete(d.c.gone, n.Name)
	d.c.peers[n.Name] = copyNode(n)
	d.c.mu.Unlock()
}

// NotifyLeave records a node that left or died, and when; what is kept
// only about live members goes at once.
func (d *delegate) NotifyLeave(n *memberlist.Node) {
	d.c.mu.Lock()
	d.c.gone[n.Name] = departed{addr: n.Address(), at: time.Now()}
	delete(d.c.peers, n.Name)
	delete(d.c.lag, n.Name)
	d.c.mu.Unlock()
}

// NotifyUpdate is called when a node's meta changes.
func (d *delegate) NotifyUpdate(n *memberlist.Node) {
	d.c.mu.Lock()
	d.c.peers[n.Name] = copyNode(n)
	d.c.mu.Unlock()
}

func copyNode(n *memberlist.Node) *memberlist.Node {
	cp := *n
	cp.Addr = slices.Clone(n.Addr)
	cp.Meta = slices.Clone(n.Meta)
	return &cp
}

// broadcast is one queued message. Deltas are named by profile id, so a
// newer change of a profile replaces an older one still queued.
type broadcast struct {
	name string
	msg  []byte
}

// Invalidates reports whether b replaces o: both name the same thing.
func (b *broadcast) Invalidates(o memberlist.Broadcast) bool {
	ob, ok := o.(*broadcast)
	return ok && ob.name == b.name
}

// Name identifies what the broadcast is about.
func (b *broadcast) Name() string { return b.name }

// Message returns the encoded message; memberlist does not modify it.
func (b *broadcast) Message() []byte { return b.msg }

// Finished is called when the broadcast is sent enough times or replaced.
func (b *broadcast) Finished() {}

// onChange is the store's OnChange hook: it runs on the writer's
// goroutine with the profile locked, so it only encodes and queues.
func (c *Cluster) onChange(ch msync.Change) {
	var rec record
	switch {
	case ch.Profile != nil:
		data, err := json.Marshal(ch.Profile)
		if err != nil {
			c.log.Warn("encode delta", "id", ch.ID, "err", err)
			return
		}
		rec = record{ID: ch.ID, Profile: data}
	case ch.Erased != 0:
		rec = record{ID: ch.ID, Erased: ch.Erased}
	default:
		return // removed without an erasure: nothing another node can apply
	}
	// Encoded once: seal copies body, so the fan-out may keep it.
	body := appendRecord(nil, &rec)
	msg := seal(kindDelta, body)
	if len(msg) <= c.cfg.MaxPacketDelta {
		// Straight to every member now; the gossip queue below is the
		// second chance for members this packet misses.
		select {
		case c.fanout <- body:
		default:
			c.metrics.FanoutDropped.Add(1)
		}
	}
	c.queueDelta(ch.ID, msg)
}

// fanoutLoop packs fresh local changes into packets, for at most
// fanoutDelay, and sends each packet to every live member by UDP. Memberlist
// gossip alone carries about 20 KB/s per node and each broadcast reaches
// only a few peers per round; sending to everyone at once costs one packet
// per member per batch and reaches all of them in one hop. Restarted after
// a panic, it starts an empty packet: the changes of the one it dropped
// still travel by gossip.
func (c *Cluster) fanoutLoop() {
	var page []byte
	n := 0
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	flush := func() {
		if n == 0 {
			return
		}
		msg := seal(kindBatch, appendCount(n, page))
		page, n = page[:0], 0
		for _, m := range c.others() {
			if err := c.ml.SendBestEffort(m, msg); err == nil {
				c.metrics.BytesSent.Add(uint64(len(msg)))
			}
		}
	}
	for {
		select {
		case <-c.stop:
			return
		case rec := <-c.fanout:
			// A record that would overflow the packet goes in the next.
			if n > 0 && len(page)+len(rec)+8 > c.cfg.MaxPacketDelta {
				flush()
			}
			if n == 0 {
				timer.Reset(fanoutDelay)
			}
			page = append(page, rec...)
			n++
		case <-timer.C:
			flush()
		}
	}
}

// fanoutDelay is how long a change waits for others to share its packet.
const fanoutDelay = 5 * time.Millisecond

// queueDelta gossips msg, or sends it over reliable streams when it would
// not fit a packet, and keeps the queue within MaxQueue.
func (c *Cluster) queueDelta(id string, msg []byte) {
	if c.closed.Load() {
		return
	}
	c.metrics.DeltasSent.Add(1)
	if len(msg) > c.cfg.MaxPacketDelta {
		c.metrics.DeltasReliable.Add(1)
		c.goSend(func() { c.sendAll(msg) })
		return
	}
	c.queue.QueueBroadcast(&broadcast{name: "p:" + id, msg: msg})
	if n := c.queue.NumQueued(); n > c.cfg.MaxQueue {
		c.queue.Prune(c.cfg.MaxQueue)
		if d := n - c.queue.NumQueued(); d > 0 {
			c.metrics.DeltasDropped.Add(uint64(d))
		}
	}
}

// inboxLoop applies deltas, record pages, config and counters. A message
// whose handling panics is dropped; anti-entropy repairs what it carried.
func (c *Cluster) inboxLoop() {
	for {
		select {
		case <-c.stop:
			return
		case msg := <-c.inbox:
			background.Guard(c.log, "cluster.inbox", func() { c.handle(msg) })
		}
	}
}

// handle applies one message; a malformed one is counted and dropped.
func (c *Cluster) handle(msg []byte) {
	k, body, err := open(msg)
	if err != nil {
		c.malformed(err)
		return
	}
	switch k {
	case kindDelta, kindRecords, kindBatch:
		recs, err := decodeRecords(k, body)
		if err != nil {
			c.malformed(err)
			return
		}
		delta := k != kindRecords // a batch holds deltas too
		for i := range recs {
			stored := c.apply(&recs[i], delta)
			if !delta {
				if stored {
					c.metrics.ProfilesTransferred.Add(1)
				}
				continue
			}
			c.metrics.DeltasReceived.Add(1)
			if k == kindDelta && stored {
				// Receivers do not forward memberlist broadcasts:
				// pass a newer version on once, so deltas reach the
				// nodes the writer's gossip missed.
				c.queueDelta(recs[i].ID, msg)
			}
		}
	case kindConfigPull:
		from, err := decodeName(body)
		if err != nil || c.rep == nil {
			c.malformed(err)
			return
		}
		if v, data := c.rep.LocalConfig(); v != 0 {
			_ = c.sendTo(from, encodeConfig(v, data))
		}
	case kindConfig:
		v, data, err := decodeConfig(body)
		if err != nil || c.rep == nil {
			c.malformed(err)
			return
		}
		if cur, _ := c.rep.LocalConfig(); v <= cur {
			return
		}
		if err := c.rep.MergeConfig(v, data); err != nil {
			c.log.Warn("replicated config refused", "version", v, "err", err)
			c.metrics.ConfigRefused.Add(1)
			return
		}
		c.metrics.ConfigApplied.Add(1)
		c.PublishConfig()
	case kindStats:
		node, data, err := decodeStats(body)
		if err != nil || c.rep == nil {
			c.malformed(err)
			return
		}
		if node != c.cfg.NodeName {
			c.rep.MergeStats(node, data)
		}
	case kindPurge:
		ps, err := decodePurges(body)
		if err != nil {
			c.malformed(err)
			return
		}
		c.applyPurges(ps)
	case kindPurgeSum:
		s, err := decodePurgeSum(body)
		if err != nil {
			c.malformed(err)
			return
		}
		c.handlePurgeSum(s)
	case kindPurgePull:
		p, err := decodePurgePull(body)
		if err != nil {
			c.malformed(err)
			return
		}
		c.answerPurgePull(p)
	}
}

func (c *Cluster) malformed(err error) {
	if err != nil {
		c.log.Debug("message", "err", err)
	}
	c.metrics.Malformed.Add(1)
}

// apply merges one record into the store and reports whether it was
// newer than what the store held.
func (c *Cluster) apply(r *record, delta bool) bool {
	if r.Erased != 0 {
		if r.Erased < c.tombstoneCutoff() {
			return false
		}
		ok, err := c.store.MergeTombstone(r.ID, r.Erased)
		if err != nil {
			c.log.Debug("merge tombstone", "id", r.ID, "err", err)
		}
		return ok
	}
	p := new(profile.Profile)
	if err := json.Unmarshal(r.Profile, p); err != nil || p.ID != r.ID {
		c.malformed(err)
		return false
	}
	ok, err := c.store.MergeRemote(p)
	if err != nil {
		c.log.Debug("merge", "id", r.ID, "err", err)
		return false
	}
	if delta && p.Node != "" && p.Node != c.cfg.NodeName {
		lag := max(time.Since(p.Version.Time()), 0)
		c.metrics.observeLag(lag)
		c.mu.Lock()
		// Only for live members: p.Node may name a node long gone
		// (a relayed delta of its write) or any name at all.
		if _, live := c.peers[p.Node]; live {
			c.lag[p.Node] = lag
		}
		c.mu.Unlock()
	}
	return ok
}

// Interface guards.
var (
	_ memberlist.Delegate       = (*delegate)(nil)
	_ memberlist.EventDelegate  = (*delegate)(nil)
	_ memberlist.NamedBroadcast = (*broadcast)(nil)
)
