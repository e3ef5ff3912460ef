package proxy

import (
	"bytes"
	"hash/maphash"

	"github.com/marquee-proxy/marquee/internal/boundedmap"
)

// An origin that compresses its pages sends the same compressed bytes for
// the same page, and decoding them costs more than everything else marquee
// does to a page. So decoded pages are kept, keyed by a hash of the
// compressed bytes and checked against a copy of them on every hit: two
// different bodies never share an entry.
const (
	decodeCacheEntries = 256
	// maxCachedDecoded bounds one entry, so the cache holds at most
	// decodeCacheEntries × this many decoded bytes (64 MiB).
	maxCachedDecoded = 256 << 10
)

type decodeKey struct {
	enc  coding
	hash uint64
}

type decoded struct {
	raw  []byte // the compressed bytes, to verify a hit
	body []byte // read-only once stored
}

type decodeCache struct {
	seed maphash.Seed
	m    *boundedmap.Map[decodeKey, *decoded]
}

func newDecodeCache() *decodeCache {
	return &decodeCache{seed: maphash.MakeSeed(), m: boundedmap.New[decodeKey, *decoded](decodeCacheEntries)}
}

// get returns the decoded form of raw if it is cached. The result is
// shared and must not be modified.
func (c *decodeCache) get(enc coding, raw []byte) ([]byte, decodeKey, bool) {
	k := decodeKey{enc: enc, hash: maphash.Bytes(c.seed, raw)}
	if d, ok := c.m.Get(k); ok && bytes.Equal(d.raw, raw) {
		return d.body, k, true
	}
	return nil, k, false
}

// put keeps copies of raw and its decoded form body, when small enough.
func (c *decodeCache) put(k decodeKey, raw, body []byte) {
	if len(body) > maxCachedDecoded {
		return
	}
	c.m.Put(k, &decoded{raw: bytes.Clone(raw), body: bytes.Clone(body)})
}
