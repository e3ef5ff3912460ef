package cluster

import (
	"cmp"
	"encoding/binary"
	"hash/fnv"
	"slices"
	"sync"
	"time"
)

// purgeLog keeps the purges a node knows of, issued here or received, so
// that a peer that missed some (partitioned, restarted, or joining) learns
// them by anti-entropy, and so that each applies once per node. It is
// bounded by count, bytes and age: a purge is kept for a retention
// measured from its stamp, the time it was issued, never from At, so that
// a purge backdated by its client is kept as long as any other. Every
// node orders the log by id and evicts the oldest first, so nodes with
// the same bounds keep the same purges. Safe for concurrent use.
type purgeLog struct {
	maxCount  int
	maxBytes  int
	retention time.Duration

	// mu guards the fields below it.
	mu      sync.Mutex
	entries []loggedPurge // by stamp, then node
	sizes   map[purgeID]int
	bytes   int
	sum     uint64 // sum of idHash over entries, order-free
	last    uint64 // the last stamp issued by this node
}

func newPurgeLog(maxCount, maxBytes int, retention time.Duration) *purgeLog {
	return &purgeLog{maxCount: maxCount, maxBytes: maxBytes, retention: retention, sizes: make(map[purgeID]int)}
}

func compareIDs(a, b purgeID) int {
	if c := cmp.Compare(a.Stamp, b.Stamp); c != 0 {
		return c
	}
	return cmp.Compare(a.Node, b.Node)
}

// idHash is an id's share of a log's sum: FNV-1a of the id, mixed so that
// sums of few ids spread over all 64 bits.
func idHash(id purgeID) uint64 {
	h := fnv.New64a()
	h.Write([]byte(id.Node))
	h.Write(binary.LittleEndian.AppendUint64(nil, id.Stamp))
	x := h.Sum64()
	// splitmix64's finaliser.
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}

// issue returns a stamp for a purge issued now: its Unix nanoseconds, or
// one more than the last stamp, so that stamps of one node never repeat.
func (l *purgeLog) issue(now time.Time) uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.last = max(uint64(now.UnixNano()), l.last+1)
	return l.last
}

// add keeps lp and reports whether it is new: false when the log already
// holds it, when its stamp lies outside the retention around now, or when
// the log is full of newer purges. Only a purge added is applied, so each
// applies once per node while it is kept.
func (l *purgeLog) add(lp loggedPurge, size int, now time.Time) bool {
	if !l.inRetention(lp.ID.Stamp, now) || size > l.maxBytes {
		return false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.sizes[lp.ID]; ok {
		return false
	}
	l.pruneLocked(now)
	full := len(l.entries) >= l.maxCount || l.bytes+size > l.maxBytes
	if full && len(l.entries) > 0 && compareIDs(lp.ID, l.entries[0].ID) < 0 {
		return false
	}
	i, _ := slices.BinarySearchFunc(l.entries, lp.ID, func(e loggedPurge, id purgeID) int { return compareIDs(e.ID, id) })
	l.entries = slices.Insert(l.entries, i, lp)
	l.sizes[lp.ID] = size
	l.bytes += size
	l.sum += idHash(lp.ID)
	for len(l.entries) > l.maxCount || l.bytes > l.maxBytes {
		l.removeLocked(0)
	}
	return true
}

// inRetention reports whether a purge stamped stamp is kept at now. A
// stamp as far in the future is refused too: a node with a broken clock
// would otherwise issue purges kept for ever.
func (l *purgeLog) inRetention(stamp uint64, now time.Time) bool {
	t := time.Unix(0, int64(min(stamp, 1<<63-1)))
	return t.After(now.Add(-l.retention)) && t.Before(now.Add(l.retention))
}

func (l *purgeLog) removeLocked(i int) {
	id := l.entries[i].ID
	l.bytes -= l.sizes[id]
	l.sum -= idHash(id)
	delete(l.sizes, id)
	l.entries = slices.Delete(l.entries, i, i+1)
}

// pruneLocked drops the purges past their retention.
func (l *purgeLog) pruneLocked(now time.Time) {
	for len(l.entries) > 0 && !l.inRetention(l.entries[0].ID.Stamp, now) {
		l.removeLocked(0)
	}
}

// summary returns how many purges the log keeps at now and their sum.
func (l *purgeLog) summary(now time.Time) (int, uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.pruneLocked(now)
	return len(l.entries), l.sum
}

// ids lists the ids the log keeps at now.
func (l *purgeLog) ids(now time.Time) []purgeID {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.pruneLocked(now)
	out := make([]purgeID, len(l.entries))
	for i, e := range l.entries {
		out[i] = e.ID
	}
	return out
}

// missing returns the purges the log keeps at now that have lists not.
// The purges are shared: callers must not modify their slices.
func (l *purgeLog) missing(have []purgeID, now time.Time) []loggedPurge {
	known := make(map[purgeID]bool, len(have))
	for _, id := range have {
		known[id] = true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.pruneLocked(now)
	var out []loggedPurge
	for _, e := range l.entries {
		if !known[e.ID] {
			out = append(out, e)
		}
	}
	return out
}

// len returns how many purges the log keeps.
func (l *purgeLog) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.entries)
}
