package cluster

import (
	"encoding/binary"
	"encoding/json"
	"time"

	"github.com/marquee-proxy/marquee/internal/background"
	msync "github.com/marquee-proxy/marquee/sync"
)

// Anti-entropy, after a push/pull has exchanged digests:
//
//  1. each side finds the buckets whose hashes differ (comparePeer) and,
//     in the background (jobLoop), sends the peer a pull: its own entries
//     (id, version, erasure version) of those buckets, in pages;
//  2. the peer answers each pull (pullLoop) with every record it holds in
//     those buckets that is newer than, or missing from, the entries, in
//     pages of at most PageBytes over reliable streams;
//  3. the records are merged like deltas, by version.
//
// Both sides of a push/pull do this, so one round repairs both ways.

// digestTTL is how long a computed digest is reused: a push/pull calls
// LocalState and MergeRemoteState back to back.
const digestTTL = time.Second

// localDigest returns this node's digest, cached for digestTTL. The slice
// is shared: do not modify it.
func (c *Cluster) localDigest() ([]uint64, error) {
	c.mu.Lock()
	if c.digest != nil && time.Since(c.digestAt) < digestTTL {
		d := c.digest
		c.mu.Unlock()
		return d, nil
	}
	c.mu.Unlock()
	d, err := c.store.Digest(c.cfg.Buckets, c.tombstoneCutoff())
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.digest, c.digestAt = d, time.Now()
	c.mu.Unlock()
	return d, nil
}

// comparePeer queues a pull of the buckets where peer's digest differs
// from ours, unless one with that peer is already queued or running.
func (c *Cluster) comparePeer(peer string, remote []uint64) {
	if len(remote) != c.cfg.Buckets {
		c.log.Warn("peer digest of another size; set the same buckets on every node", "peer", peer, "buckets", len(remote))
		return
	}
	local, err := c.localDigest()
	if err != nil {
		return
	}
	var want []bool
	n := 0
	for i := range local {
		if local[i] != remote[i] {
			if want == nil {
				want = make([]bool, len(local))
			}
			want[i] = true
			n++
		}
	}
	if n == 0 {
		return
	}
	c.metrics.BucketsDiffering.Add(uint64(n))
	c.mu.Lock()
	if c.inFlight[peer] {
		c.mu.Unlock()
		return
	}
	c.inFlight[peer] = true
	c.mu.Unlock()
	select {
	case c.jobs <- pullJob{peer: peer, want: want}:
	default:
		c.mu.Lock()
		delete(c.inFlight, peer)
		c.mu.Unlock()
	}
}

// jobLoop sends the pulls queued by comparePeer. A pull that panics is
// abandoned, and the peer's next push/pull queues it again.
func (c *Cluster) jobLoop() {
	for {
		select {
		case <-c.stop:
			return
		case j := <-c.jobs:
			background.Guard(c.log, "cluster.antientropy", func() { c.runPull(j) })
			c.mu.Lock()
			delete(c.inFlight, j.peer)
			c.mu.Unlock()
		}
	}
}

// runPull sends our entries of j's buckets to j.peer, in pages; a page
// holds whole buckets, so the peer can tell what we lack.
func (c *Cluster) runPull(j pullJob) {
	entries, err := c.store.Entries(j.want, c.tombstoneCutoff())
	if err != nil {
		c.log.Warn("anti-entropy entries", "err", err)
		return
	}
	byBucket := make(map[int][]msync.Entry)
	for _, e := range entries {
		b := msync.Bucket(e.ID, c.cfg.Buckets)
		byBucket[b] = append(byBucket[b], e)
	}
	p := pull{From: c.cfg.NodeName, Buckets: c.cfg.Buckets, Sums: c.peerTakesSums(j.peer)}
	size := 0
	flush := func() bool {
		if len(p.Want) == 0 {
			return true
		}
		err := c.sendTo(j.peer, encodePull(&p))
		p.Want, p.Entries, size = p.Want[:0], p.Entries[:0], 0
		if err != nil {
			c.log.Debug("anti-entropy pull", "peer", j.peer, "err", err)
			return false
		}
		return true
	}
	for b, ok := range j.want {
		if !ok {
			continue
		}
		es := byBucket[b]
		p.Want = append(p.Want, b)
		p.Entries = append(p.Entries, es...)
		for _, e := range es {
			size += len(e.ID) + 28 // 20 without sums: an estimate
		}
		if size >= c.cfg.PageBytes/4 && !flush() {
			return
		}
		select {
		case <-c.stop:
			return
		default:
		}
	}
	flush()
}

// pullLoop answers pulls from peers. A pull whose answer panics goes
// unanswered; the peer asks again on a later push/pull.
func (c *Cluster) pullLoop() {
	for {
		select {
		case <-c.stop:
			return
		case msg := <-c.pulls:
			background.Guard(c.log, "cluster.antientropy.answer", func() { c.answer(msg) })
		}
	}
}

// answer decodes one pull and answers it.
func (c *Cluster) answer(msg []byte) {
	k, body, err := open(msg)
	if err != nil || k != kindPull && k != kindPullSum {
		c.malformed(err)
		return
	}
	p, err := decodePull(k, body)
	if err != nil {
		c.malformed(err)
		return
	}
	c.answerPull(&p)
}

// differs reports whether our entry e should be sent to the puller whose
// entry is t: by content sum too when the pull carried sums, else (a node
// of an earlier release) by version and node only.
func (p *pull) differs(e, t msync.Entry) bool {
	if p.Sums {
		return e.Differs(t)
	}
	return msync.Newer(e.Version, e.Node, t.Version, t.Node)
}

// peerTakesSums reports whether peer announced it understands
// kindPullSum.
func (c *Cluster) peerTakesSums(peer string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	n, ok := c.peers[peer]
	return ok && hasWireSuffix(n.Meta)
}

// answerPull sends p.From every record of p's buckets that we hold newer
// than its entries, or that it lacks.
func (c *Cluster) answerPull(p *pull) {
	if p.Buckets != c.cfg.Buckets {
		return
	}
	want := make([]bool, p.Buckets)
	for _, b := range p.Want {
		want[b] = true
	}
	mine, err := c.store.Entries(want, c.tombstoneCutoff())
	if err != nil {
		return
	}
	theirs := make(map[string]msync.Entry, len(p.Entries))
	for _, e := range p.Entries {
		theirs[e.ID] = e
	}
	var page []byte
	n := 0
	flush := func() bool {
		if n == 0 {
			return true
		}
		body := appendCount(n, page)
		page, n = page[:0], 0
		if err := c.sendTo(p.From, seal(kindRecords, body)); err != nil {
			c.log.Debug("anti-entropy records", "peer", p.From, "err", err)
			return false
		}
		return true
	}
	for _, e := range mine {
		t := theirs[e.ID]
		if e.Erased > t.Erased {
			page = appendRecord(page, &record{ID: e.ID, Erased: e.Erased})
			n++
		}
		if p.differs(e, t) {
			prof, err := c.store.Get(e.ID)
			if err != nil || prof == nil {
				continue
			}
			data, err := json.Marshal(prof)
			if err != nil {
				continue
			}
			page = appendRecord(page, &record{ID: e.ID, Profile: data})
			n++
			c.metrics.ProfilesSent.Add(1)
		}
		if len(page) >= c.cfg.PageBytes && !flush() {
			return
		}
	}
	if flush() {
		c.metrics.BucketsRepaired.Add(uint64(len(p.Want)))
	}
}

// appendCount prefixes a page of n records with its count.
func appendCount(n int, page []byte) []byte {
	b := make([]byte, 0, len(page)+binary.MaxVarintLen64)
	b = binary.AppendUvarint(b, uint64(n))
	return append(b, page...)
}
