package sync

import (
	"slices"
	"strconv"
	"strings"
	stdsync "sync"

	"github.com/marquee-proxy/marquee/profile"
	"github.com/tidwall/buntdb"
)

// Entry is what anti-entropy compares of one id: the version of its
// profile and of its latest erasure, each 0 when there is none.
type Entry struct {
	ID      string
	Version profile.Version
	// Node wrote Version; it breaks ties between equal versions.
	Node string
	// Sum hashes the stored profile's content. Two copies of one version
	// can differ (a merge keeps the higher version of its inputs), and
	// then only Sum tells them apart: see Differs.
	Sum    uint64
	Erased profile.Version
}

// Differs reports whether the profile of e should be sent to a node whose
// entry for the same id is t: e is newer, or of the same version and node
// but different content (the receiver merges both, and so does e's
// node when it receives t's).
func (e Entry) Differs(t Entry) bool {
	if Newer(e.Version, e.Node, t.Version, t.Node) {
		return true
	}
	return e.Version != 0 && e.Version == t.Version && e.Node == t.Node && e.Sum != t.Sum
}

// contentSum is the Sum of an encoded profile.
func contentSum(raw string) uint64 { return fnv64a(raw) }

// Newer reports whether the write (v, node) wins over (cur, curNode):
// the higher version, and between equal versions written by two nodes in
// the same millisecond, the higher node name, so every node picks the
// same one.
func Newer(v profile.Version, node string, cur profile.Version, curNode string) bool {
	return v > cur || (v == cur && node > curNode)
}

// Bucket returns the digest bucket of id among n (n > 0). It is the same
// on every node and every build.
func Bucket(id string, n int) int { return int(fnv64a(id) % uint64(n)) }

// fnv64a is FNV-1a: stable across processes, unlike hash/maphash.
func fnv64a(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

// mix64 is the splitmix64 finaliser.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// entryHash hashes one (id, version, node, content sum); tomb separates an
// erasure from a profile of the same version. The sum makes two copies of
// one version with different content differ.
func entryHash(id string, v profile.Version, node string, sum uint64, tomb bool) uint64 {
	h := fnv64a(id) ^ mix64(uint64(v)) ^ mix64(fnv64a(node)) ^ mix64(sum^0x9e3779b97f4a7c15)
	if tomb {
		h = ^h
	}
	return mix64(h)
}

// DefaultDigestBuckets is the digest bucket count a Store keeps up to date
// unless Options.DigestBuckets says otherwise, and the cluster's default.
const DefaultDigestBuckets = 1024

// Digest summarises the store in n buckets: bucket i is the XOR of the
// hashes of (id, version) of every profile and every tombstone whose id
// falls in it, so two stores with equal buckets hold the same versions.
// Tombstones older than since are left out: they are due for collection
// on every node and must not be copied back.
//
// For n equal to Options.DigestBuckets the digest is kept up to date by
// every write, and Digest only takes out the tombstones older than since
// that are still stored (found by an index on their versions, and few:
// the cluster collects them hourly). For any other n it reads the whole
// store without decoding, in chunks, so writers wait for at most one
// chunk.
func (s *Store) Digest(n int, since profile.Version) ([]uint64, error) {
	if s.live == nil || s.live.n != n {
		return s.scanDigest(n, since)
	}
	d := s.live.snapshot()
	err := s.db.View(func(tx *buntdb.Tx) error {
		return tx.AscendLessThan(tombstoneIndex, formatVersion(since), func(k, raw string) bool {
			id := k[len(tombstonePrefix):]
			d[Bucket(id, n)] ^= tombstoneHash(id, raw)
			return true
		})
	})
	if err != nil {
		return nil, ErrClosed
	}
	return d, nil
}

// DigestBuckets returns the bucket count of the digest the store keeps up
// to date, 0 when it keeps none.
func (s *Store) DigestBuckets() int {
	if s.live == nil {
		return 0
	}
	return s.live.n
}

// scanDigest computes Digest by reading every profile and every tombstone
// of since or later.
func (s *Store) scanDigest(n int, since profile.Version) ([]uint64, error) {
	d := make([]uint64, n)
	err := s.scanProfiles(nil, func(id string, v profile.Version, node string, sum uint64) {
		d[Bucket(id, n)] ^= entryHash(id, v, node, sum, false)
	})
	if err == nil {
		err = s.scanTombstones(nil, since, func(id string, v profile.Version) {
			d[Bucket(id, n)] ^= entryHash(id, v, "", 0, true)
		})
	}
	if err != nil {
		return nil, err
	}
	return d, nil
}

// tombstoneIndex orders tombstones by version, so that Digest and
// CollectTombstones find the old ones without reading the others.
const tombstoneIndex = "tombstones"

func formatVersion(v profile.Version) string { return strconv.FormatUint(uint64(v), 10) }

// parseVersion reads a version stored by formatVersion, 0 when raw is not
// one.
func parseVersion(raw string) profile.Version {
	v, _ := strconv.ParseUint(raw, 10, 64)
	return profile.Version(v)
}

// tombstoneOf returns the version of id's erasure stored in tx, 0 when it
// was never erased.
func tombstoneOf(tx *buntdb.Tx, id string) profile.Version {
	raw, err := tx.Get(tombstonePrefix + id)
	if err != nil {
		return 0
	}
	return parseVersion(raw)
}

func tombstoneHash(id, raw string) uint64 {
	return entryHash(id, parseVersion(raw), "", 0, true)
}

// liveDigest is a digest of n buckets of every stored profile and
// tombstone, whatever its age, kept equal to what scanDigest(n, 0) would
// compute: every write transaction collects the change of the records it
// writes in a digestDelta and applies it once committed. XOR commutes, so
// transactions may apply their deltas in any order.
type liveDigest struct {
	n  int
	mu stdsync.Mutex
	b  []uint64
}

func (l *liveDigest) snapshot() []uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.b)
}

// apply adds a committed transaction's delta; l may be nil.
func (l *liveDigest) apply(d digestDelta) {
	if l == nil || len(d) == 0 {
		return
	}
	l.mu.Lock()
	for _, e := range d {
		l.b[e.bucket] ^= e.hash
	}
	l.mu.Unlock()
}

// digestDelta is what one write transaction changes in the live digest:
// the entry hash of every profile or tombstone it wrote and of every one
// it replaced or deleted. Rolled back, it is dropped.
type digestDelta []deltaEntry

type deltaEntry struct {
	bucket int
	hash   uint64
}

// note records in d, when s keeps a live digest, a change to the record
// of id that raw encodes.
func (s *Store) note(d *digestDelta, id, raw string, tomb bool) {
	if s.live == nil {
		return
	}
	var h uint64
	if tomb {
		h = tombstoneHash(id, raw)
	} else {
		v, node := rawVersion(raw)
		h = entryHash(id, v, node, contentSum(raw), false)
	}
	*d = append(*d, deltaEntry{Bucket(id, s.live.n), h})
}

// setRecord stores raw as the profile (or, with tomb, the tombstone) of
// id in tx and notes the change in d. Every write of a profile or
// tombstone goes through it or deleteRecord.
func (s *Store) setRecord(tx *buntdb.Tx, d *digestDelta, id, raw string, tomb bool) error {
	prev, replaced, err := tx.Set(recordKey(id, tomb), raw, nil)
	if err != nil {
		return err
	}
	s.note(d, id, raw, tomb)
	if replaced {
		s.note(d, id, prev, tomb)
	}
	return nil
}

// deleteRecord deletes id's profile (or, with tomb, its tombstone) in tx
// and notes the change in d. A missing one is buntdb.ErrNotFound.
func (s *Store) deleteRecord(tx *buntdb.Tx, d *digestDelta, id string, tomb bool) error {
	prev, err := tx.Delete(recordKey(id, tomb))
	if err != nil {
		return err
	}
	s.note(d, id, prev, tomb)
	return nil
}

func recordKey(id string, tomb bool) string {
	if tomb {
		return tombstonePrefix + id
	}
	return keyPrefix + id
}

// Entries returns the entries of every id whose bucket among n is set in
// want (len(want) == n), sorted by id; tombstones older than since are
// left out as in Digest.
func (s *Store) Entries(want []bool, since profile.Version) ([]Entry, error) {
	idx := make(map[string]int)
	var out []Entry
	entry := func(id string) *Entry {
		i, ok := idx[id]
		if !ok {
			i = len(out)
			idx[id] = i
			out = append(out, Entry{ID: id})
		}
		return &out[i]
	}
	err := s.scanProfiles(want, func(id string, v profile.Version, node string, sum uint64) {
		e := entry(id)
		e.Version, e.Node, e.Sum = v, node, sum
	})
	if err == nil {
		err = s.scanTombstones(want, since, func(id string, v profile.Version) { entry(id).Erased = v })
	}
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b Entry) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// scanProfiles calls fn for every profile whose bucket is set in want (all
// when want is nil), and scanTombstones for every tombstone of since or
// later. They read in chunks (see ascendPrefix), so what they see is not
// one point in time: a write made meanwhile may or may not be seen, which
// anti-entropy tolerates, since a difference it misses is found on the
// next round and one it reports is compared entry by entry before anything
// is sent.
func (s *Store) scanProfiles(want []bool, fn func(id string, v profile.Version, node string, sum uint64)) error {
	return s.ascendPrefix(keyPrefix, func(k, raw string) {
		if id := k[len(keyPrefix):]; want == nil || want[Bucket(id, len(want))] {
			v, node := rawVersion(raw)
			fn(id, v, node, contentSum(raw))
		}
	})
}

func (s *Store) scanTombstones(want []bool, since profile.Version, fn func(id string, v profile.Version)) error {
	return s.ascendPrefix(tombstonePrefix, func(k, raw string) {
		id := k[len(tombstonePrefix):]
		if v := parseVersion(raw); v >= since && (want == nil || want[Bucket(id, len(want))]) {
			fn(id, v)
		}
	})
}

// scanChunk is how many keys one read transaction of ascendPrefix visits.
// buntdb's read lock keeps writers out, and a waiting writer keeps new
// readers out, so a scan of a million profiles under one lock (about half
// a second) would stall every request that needs the store. A chunk holds
// it for well under a millisecond.
const scanChunk = 1024

// ascendPrefix calls fn for every key with prefix, in key order, reading
// s.chunk keys per read transaction and resuming after the last key
// seen. Keys written between chunks may or may not be visited; none is
// visited twice.
func (s *Store) ascendPrefix(prefix string, fn func(k, v string)) error {
	from, skip := prefix, ""
	for {
		n, done := 0, true
		err := s.db.View(func(tx *buntdb.Tx) error {
			return tx.AscendGreaterOrEqual("", from, func(k, v string) bool {
				if !strings.HasPrefix(k, prefix) {
					return false
				}
				if k == skip {
					return true
				}
				if n == max(s.chunk, 1) {
					done = false
					return false
				}
				fn(k, v)
				from, skip = k, k
				n++
				return true
			})
		})
		if err != nil {
			return ErrClosed
		}
		if done {
			return nil
		}
	}
}

// rawVersion reads the version and node of an encoded profile without
// decoding it: the top-level "version" and "node" are the last such keys,
// since every field after them holds a string or a time (node names are
// plain: a name needing escapes falls back to decoding).
func rawVersion(raw string) (profile.Version, string) {
	const vkey, nkey = `"version":`, `"node":"`
	if i := strings.LastIndex(raw, vkey); i >= 0 {
		j := i + len(vkey)
		k := j
		for k < len(raw) && raw[k] >= '0' && raw[k] <= '9' {
			k++
		}
		v, err := strconv.ParseUint(raw[j:k], 10, 64)
		if err == nil {
			rest := raw[k:]
			n := strings.Index(rest, nkey)
			if n < 0 {
				return profile.Version(v), ""
			}
			rest = rest[n+len(nkey):]
			if e := strings.IndexByte(rest, '"'); e >= 0 && !strings.Contains(rest[:e], `\`) {
				return profile.Version(v), rest[:e]
			}
		}
	}
	if p, err := unmarshalProfile([]byte(raw)); err == nil {
		return p.Version, p.Node
	}
	return 0, ""
}
