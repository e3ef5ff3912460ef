package sync

import (
	"slices"
	"strconv"
	"strings"

	"github.com/tidwall/buntdb"
)

// Entry is what anti-entropy compares of one id: the version of its
// profile and of its latest erasure, each 0 when there is none.
type Entry struct {
	ID      string
	Version Version
	// Node wrote Version; it breaks ties between equal versions.
	Node   string
	Erased Version
}

// Newer reports whether the write (v, node) wins over (cur, curNode):
// the higher version, and between equal versions written by two nodes in
// the same millisecond, the higher node name, so every node picks the
// same one.
func Newer(v Version, node string, cur Version, curNode string) bool {
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

// entryHash hashes one (id, version) pair; tomb separates an erasure from
// a profile of the same version.
func entryHash(id string, v Version, node string, tomb bool) uint64 {
	h := fnv64a(id) ^ mix64(uint64(v)) ^ mix64(fnv64a(node))
	if tomb {
		h = ^h
	}
	return mix64(h)
}

// Digest summarises the store in n buckets: bucket i is the XOR of the
// hashes of (id, version) of every profile and every tombstone whose id
// falls in it, so two stores with equal buckets hold the same versions.
// Tombstones older than since are left out: they are due for collection
// on every node and must not be copied back. It reads the whole store
// (no decoding) and may take a while for millions of profiles; it does not
// block writers for longer than buntdb's read lock does.
func (s *Store) Digest(n int, since Version) ([]uint64, error) {
	d := make([]uint64, n)
	err := s.scan(nil, since, func(id string, v Version, node string, tomb bool) {
		d[Bucket(id, n)] ^= entryHash(id, v, node, tomb)
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}

// Entries returns the entries of every id whose bucket among n is set in
// want (len(want) == n), sorted by id; tombstones older than since are
// left out as in Digest.
func (s *Store) Entries(want []bool, since Version) ([]Entry, error) {
	idx := make(map[string]int)
	var out []Entry
	err := s.scan(want, since, func(id string, v Version, node string, tomb bool) {
		i, ok := idx[id]
		if !ok {
			i = len(out)
			idx[id] = i
			out = append(out, Entry{ID: id})
		}
		if tomb {
			out[i].Erased = v
		} else {
			out[i].Version, out[i].Node = v, node
		}
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b Entry) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// scan calls fn for every profile and tombstone whose bucket is set in
// want (all when want is nil), under one read transaction.
func (s *Store) scan(want []bool, since Version, fn func(id string, v Version, node string, tomb bool)) error {
	n := len(want)
	in := func(id string) bool { return want == nil || want[Bucket(id, n)] }
	err := s.db.View(func(tx *buntdb.Tx) error {
		err := tx.AscendKeys(keyPrefix+"*", func(k, raw string) bool {
			id := k[len(keyPrefix):]
			if in(id) {
				v, node := rawVersion(raw)
				fn(id, v, node, false)
			}
			return true
		})
		if err != nil {
			return err
		}
		return tx.AscendKeys(tombstonePrefix+"*", func(k, raw string) bool {
			id := k[len(tombstonePrefix):]
			v, _ := strconv.ParseUint(raw, 10, 64)
			if Version(v) >= since && in(id) {
				fn(id, Version(v), "", true)
			}
			return true
		})
	})
	if err != nil {
		return ErrClosed
	}
	return nil
}

// rawVersion reads the version and node of an encoded profile without
// decoding it: the top-level "version" and "node" are the last such keys,
// since every field after them holds a string or a time (node names are
// plain: a name needing escapes falls back to decoding).
func rawVersion(raw string) (Version, string) {
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
				return Version(v), ""
			}
			rest = rest[n+len(nkey):]
			if e := strings.IndexByte(rest, '"'); e >= 0 && !strings.Contains(rest[:e], `\`) {
				return Version(v), rest[:e]
			}
		}
	}
	if p, err := unmarshalProfile([]byte(raw)); err == nil {
		return p.Version, p.Node
	}
	return 0, ""
}
