package inject

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/maphash"
	"strings"
	"sync"
	"time"
)

// The plan cache. Hashing a whole 61 KB body costs about as much as verifying
// it with bytes.Equal, and a hash alone can collide; so the key is a cheap
// sampled hash (length, head, tail and a few strided words) and every hit is
// verified byte for byte against the cached body. Two different bodies can
// share a key but never a plan.
//
// Pages that differ on every request defeat any exact key. For them each
// plan is also filed under family keys (the caller's hint, such as the
// request path; the page's last 256 bytes; its length in two staggered
// 64-byte buckets, so that lengths within 32 bytes always share one), and a
// miss tries the recent members of its families with deltaPlan.

// budgetRetry is how long a page that exceeded the compile budget passes
// through before it is compiled again.
const budgetRetry = time.Minute

// maxChain bounds the entries sharing one exact key, all of which a lookup
// compares.
const maxChain = 4

// maxFamily bounds the members kept per family key.
const maxFamily = 8

// Sampling parameters of the exact key.
const (
	keyEdge    = 64 // bytes hashed at each end
	keySamples = 16 // strided 8-byte words in between
	tailWindow = 256
)

type cacheKeys struct {
	exact uint64
	// family holds the caller's hint (0 when none), the tail, and the
	// length in two staggered 64-byte buckets.
	family [4]uint64
}

// entry is one cached outcome. Everything but the list links is immutable
// once added, so hits read it without the lock.
type entry struct {
	keys  cacheKeys
	body  []byte
	ctype string
	plan  *Plan
	err   error
	size  int64
	// expires is when a budget failure may be retried: it may have been
	// the machine's load rather than the page. Zero for other outcomes.
	expires time.Time

	prev, next *entry // LRU list, guarded by cache.mu
	chain      *entry // next entry with the same exact key, guarded by cache.mu
}

type cache struct {
	seed       maphash.Seed
	maxEntries int
	maxBytes   int64
	famSize    int

	mu      sync.Mutex
	exact   map[uint64]*entry
	family  map[uint64][]*entry
	head    entry // sentinel: head.next is most recent
	entries int
	bytes   int64
}

func newCache(o Options) *cache {
	c := &cache{
		seed:       maphash.MakeSeed(),
		maxEntries: o.MaxEntries,
		maxBytes:   o.MaxBytes,
		famSize:    min(o.FamilySize, maxFamily),
		exact:      make(map[uint64]*entry),
		family:     make(map[uint64][]*entry),
	}
	c.head.next, c.head.prev = &c.head, &c.head
	return c
}

// keys computes the exact and family keys of a body.
func (c *cache) keys(hint, body []byte, ctype string) cacheKeys {
	var h maphash.Hash
	h.SetSeed(c.seed)
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(len(body)))
	h.Write(n[:])
	h.WriteString(ctype)
	h.WriteByte(0)
	l := len(body)
	if l <= 2*keyEdge+keySamples*8 {
		h.Write(body)
	} else {
		h.Write(body[:keyEdge])
		h.Write(body[l-keyEdge:])
		step := (l - 2*keyEdge - 8) / keySamples
		for i := 0; i < keySamples; i++ {
			o := keyEdge + i*step
			h.Write(body[o : o+8])
		}
	}
	k := cacheKeys{exact: h.Sum64()}

	h.Reset()
	h.WriteString("tail\x00")
	h.WriteString(ctype)
	h.Write(body[max(0, l-tailWindow):])

	k.family[1] = h.Sum64()

	// Lengths within 32 bytes of each other share at least one bucket, so
	// a timestamp or a token of varying width keeps its family.
	for i, b := range [2]int{l >> 6, (l + 32) >> 6} {
		h.Reset()
		h.WriteString("length\x00")
		h.WriteString(ctype)
		binary.LittleEndian.PutUint64(n[:], uint64(b))
		h.Write(n[:])
		h.WriteByte(byte(i))
		k.family[2+i] = h.Sum64()
	}

	if len(hint) > 0 {
		h.Reset()
		h.WriteString("hint\x00")
		h.WriteString(ctype)
		h.Write(hint)
		k.family[0] = h.Sum64()
	}
	return k
}

// lookup returns the cached outcome for exactly this body and content type.
func (c *cache) lookup(k cacheKeys, body []byte, ctype string) (*Plan, error, bool) {
	var cands [maxChain]*entry
	n := 0
	c.mu.Lock()
	for e := c.exact[k.exact]; e != nil && n < len(cands); e = e.chain {
		cands[n] = e
		n++
	}
	c.mu.Unlock()
	for _, e := range cands[:n] {
		if e.ctype == ctype && bytes.Equal(e.body, body) {
			if !e.expires.IsZero() && time.Now().After(e.expires) {
				return nil, nil, false
			}
			c.touch(e)
			return e.plan, e.err, true
		}
	}
	return nil, nil, false
}

// members appends to dst the members of the body's families that share its
// content type, most recent first, without duplicates.
func (c *cache) members(k cacheKeys, ctype string, dst []*entry) []*entry {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, fk := range k.family {
		if fk == 0 {
			continue
		}
	members:
		for _, e := range c.family[fk] {
			if e.ctype != ctype {
				continue
			}
			for _, d := range dst {
				if d == e {
					continue members
				}
			}
			dst = append(dst, e)
		}
	}
	return dst
}

// touch marks e as most recently used, if it is still cached.
func (c *cache) touch(e *entry) {
	c.mu.Lock()
	if e.next != nil && c.head.next != e {
		c.unlinkLocked(e)
		c.pushFrontLocked(e)
	}
	c.mu.Unlock()
}

// add caches the outcome of compiling body.
func (c *cache) add(k cacheKeys, body []byte, ctype string, p *Plan, err error) {
	// Both are copied: callers may pass views into reused buffers.
	e := &entry{keys: k, body: bytes.Clone(body), ctype: strings.Clone(ctype), plan: p, err: err}
	if errors.Is(err, ErrBudget) {
		e.expires = time.Now().Add(budgetRetry)
	}
	e.size = int64(len(body)+len(ctype)) + 160
	if p != nil {
		e.size += p.memSize()
	}
	if e.size > c.maxBytes {
		return
	}
	if p != nil {
		// p is not shared yet: PlanHint returns it only after add.
		p.src = e.body
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var last *entry
	n := 0
	for o := c.exact[k.exact]; o != nil; o = o.chain {
		if o.ctype == ctype && bytes.Equal(o.body, body) {
			if o.expires.IsZero() {
				return // a concurrent miss compiled it first
			}
			c.evictLocked(o) // an expired budget failure
			last, n = nil, 0
			for o := c.exact[k.exact]; o != nil; o = o.chain {
				last, n = o, n+1
			}
			break
		}
		last, n = o, n+1
	}
	if n >= maxChain {
		// Bodies that differ only in unsampled bytes share a key; keep the
		// newest few, which lookup checks in full.
		c.evictLocked(last)
	}
	e.chain = c.exact[k.exact]
	c.exact[k.exact] = e
	if p != nil && c.famSize > 0 {
		for _, fk := range k.family {
			if fk == 0 {
				continue
			}
			m := c.family[fk]
			if len(m) >= c.famSize {
				m = m[:c.famSize-1]
			}
			c.family[fk] = append([]*entry{e}, m...)
		}
	}
	c.pushFrontLocked(e)
	c.entries++
	c.bytes += e.size
	for (c.entries > c.maxEntries || c.bytes > c.maxBytes) && c.head.prev != &c.head {
		c.evictLocked(c.head.prev)
	}
}

func (c *cache) pushFrontLocked(e *entry) {
	e.prev, e.next = &c.head, c.head.next
	c.head.next.prev = e
	c.head.next = e
}

func (c *cache) unlinkLocked(e *entry) {
	e.prev.next, e.next.prev = e.next, e.prev
	e.prev, e.next = nil, nil
}

func (c *cache) evictLocked(e *entry) {
	c.unlinkLocked(e)
	c.entries--
	c.bytes -= e.size
	if c.exact[e.keys.exact] == e {
		if e.chain == nil {
			delete(c.exact, e.keys.exact)
		} else {
			c.exact[e.keys.exact] = e.chain
		}
	} else {
		for o := c.exact[e.keys.exact]; o != nil; o = o.chain {
			if o.chain == e {
				o.chain = e.chain
				break
			}
		}
	}
	for _, fk := range e.keys.family {
		if fk == 0 {
			continue
		}
		m := c.family[fk]
		for i, o := range m {
			if o == e {
				m = append(m[:i:i], m[i+1:]...)
				break
			}
		}
		if len(m) == 0 {
			delete(c.family, fk)
		} else {
			c.family[fk] = m
		}
	}
}

// CacheLen returns the number of cached outcomes (plans and failures).
func (c *Compiler) CacheLen() int {
	c.cache.mu.Lock()
	defer c.cache.mu.Unlock()
	return c.cache.entries
}
