package cache

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
	"unsafe"

	"github.com/maypok86/otter/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/marquee-proxy/marquee/internal/httpfield"
)

// Defaults of Options.
const (
	// DefaultMaxObjectShare is the share of MaxSize one response may take
	// when Options.MaxObject is zero: a few huge downloads must not evict
	// every page.
	DefaultMaxObjectShare = 16
	// DefaultCollapseWait is how long a request waits for another
	// request's fetch of the same URL before fetching itself.
	DefaultCollapseWait = 5 * time.Second
	// maxRecentPurges bounds the purges remembered to catch fetches that
	// were in flight while a purge ran.
	maxRecentPurges = 64
)

// ErrOptions means Options are out of range.
var ErrOptions = errors.New("cache: invalid options")

// Options configures a Cache.
type Options struct {
	// MaxSize bounds the cache's weight in bytes: bodies (as received and,
	// for pages, decoded), header fields, keys, tags and an estimate of the
	// rewrite stage's value (PlanWeight). Required.
	MaxSize int64

	// MaxObject is the largest weight one entry may have; larger responses
	// pass through unstored. Zero means MaxSize / DefaultMaxObjectShare.
	MaxObject int64

	// StaleIfError is how long past its freshness a response may be
	// served when the origin fails, for responses without a
	// stale-if-error directive of their own (RFC 5861 §4). Zero: none.
	StaleIfError time.Duration

	// IgnoreQuery names query parameters left out of keys: exact names
	// ("gclid") or prefixes ending in "*" ("utm_*").
	IgnoreQuery []string

	// HonorClientNoCache makes a client's "Cache-Control: no-cache" (or
	// max-age=0, or "Pragma: no-cache") revalidate a fresh entry. False
	// (the default) ignores it: any visitor could otherwise send every
	// request through to the origin.
	HonorClientNoCache bool

	// CollapseWait bounds how long a miss waits for a concurrent fetch of
	// the same URL before fetching itself. Zero means DefaultCollapseWait.
	CollapseWait time.Duration

	// Registry receives the cache's metrics. Nil registers nowhere.
	Registry prometheus.Registerer
}

// Cache is a byte-bounded store of origin responses under shared-cache
// rules, evicting by recency and frequency (W-TinyLFU, maypok86/otter). A
// hit takes no lock and parses nothing. It is safe for concurrent use.
type Cache struct {
	opts    Options
	ignore  httpfield.Names
	store   *otter.Cache[string, *Entry]
	metrics *metrics

	flightMu sync.Mutex // guards the fields below
	flights  map[string]*Flight
	notes    map[string]note // see collapse.go
	swept    int64           // when notes were last swept, Unix ns

	purgeMu sync.Mutex // guards recent
	recent  []Purge
}

// New builds a Cache.
func New(o Options) (*Cache, error) {
	if o.MaxSize <= 0 {
		return nil, fmt.Errorf("%w: MaxSize %d: want a positive size", ErrOptions, o.MaxSize)
	}
	if o.MaxObject <= 0 {
		o.MaxObject = o.MaxSize / DefaultMaxObjectShare
	}
	o.MaxObject = min(o.MaxObject, o.MaxSize, 1<<32-1)
	if o.StaleIfError < 0 {
		return nil, fmt.Errorf("%w: StaleIfError %v is negative", ErrOptions, o.StaleIfError)
	}
	if o.CollapseWait <= 0 {
		o.CollapseWait = DefaultCollapseWait
	}
	ign, err := httpfield.CompileNames(o.IgnoreQuery, false)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrIgnorePattern, err)
	}
	c := &Cache{opts: o, ignore: ign, flights: make(map[string]*Flight), notes: make(map[string]note)}
	c.metrics = newMetrics(c)
	c.store, err = otter.New(&otter.Options[string, *Entry]{
		MaximumWeight: uint64(o.MaxSize),
		Weigher:       func(_ string, e *Entry) uint32 { return e.size },
		OnDeletion: func(ev otter.DeletionEvent[string, *Entry]) {
			if ev.WasEvicted() {
				c.metrics.evictions.Inc()
			}
		},
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrOptions, err)
	}
	if o.Registry != nil {
		if err := c.metrics.register(o.Registry); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// MaxObject returns the largest weight one entry may have.
func (c *Cache) MaxObject() int64 { return c.opts.MaxObject }

// StaleIfError returns the default stale-if-error window.
func (c *Cache) StaleIfError() time.Duration { return c.opts.StaleIfError }

// Len returns the number of stored entries, Vary markers included.
func (c *Cache) Len() int { return c.store.EstimatedSize() }

// Bytes returns the weight of the stored entries.
func (c *Cache) Bytes() int64 { return int64(c.store.WeightedSize()) }

// b2s views b as a string for a look-up that does not keep it.
func b2s(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// Lookup returns the entry stored for primary key key (see AppendKey) that
// may answer req, or nil. A response with Vary is found under its secondary
// key, built in scratch, which is returned: empty unless the URL is known
// to vary, so that it is also the key of a flight for this request's
// variant (see Join). An entry stored without public or s-maxage does not
// answer a request with Authorization.
func (c *Cache) Lookup(key []byte, req RequestHeader, scratch []byte) (*Entry, []byte) {
	scratch = scratch[:0]
	e, ok := c.store.GetIfPresent(b2s(key))
	if !ok {
		return nil, scratch
	}
	if e.marker {
		scratch = appendSecondary(append(scratch[:0], key...), e.vary, req)
		if e, ok = c.store.GetIfPresent(b2s(scratch)); !ok {
			return nil, scratch
		}
	}
	if !e.authOK && len(req.Peek("Authorization")) > 0 {
		return nil, scratch
	}
	return e, scratch
}

var (
	strNoCache = []byte("no-cache")
	strMaxAge0 = []byte("max-age=0")
)

// Admit applies the storage rules to r, the response to req under primary
// key key, and returns the entry to store, not yet stored (see Put), or
// nil and why not. The rewrite stage may set the entry's value before Put.
func (c *Cache) Admit(key []byte, req RequestHeader, r *Response) (*Entry, Reason) {
	if req != nil && requestNoStore(req) {
		return nil, ReasonNoStore
	}
	p, why := decide(req, r, c.opts.StaleIfError)
	if why != Storable {
		return nil, why
	}
	return c.admit(key, req, r, p)
}

// Precheck applies the storage rules that need no body to r (Body and
// Decoded unread), so that a response that will not be stored is never
// read into memory for the cache.
func (c *Cache) Precheck(req RequestHeader, r *Response) Reason {
	if req != nil && requestNoStore(req) {
		return ReasonNoStore
	}
	_, why := decide(req, r, c.opts.StaleIfError)
	return why
}

func (c *Cache) admit(key []byte, req RequestHeader, r *Response, p policy) (*Entry, Reason) {
	url := string(key)
	sk := url
	if len(p.vary) == 0 {
		if m, ok := c.store.GetIfPresent(url); ok && m.marker && codingVaryOnly(m.vary) {
			// A response in identity beside coded ones of an origin that
			// compresses without Vary: one more variant, not a
			// replacement of the coded ones (coding.go).
			p.vary = m.vary
		}
	}
	if len(p.vary) > 0 {
		sk = string(appendSecondary(append(make([]byte, 0, len(key)+64), key...), p.vary, req))
	}
	e := newEntry(url, pathIndex(url), sk, r, p)
	if int64(e.size) > c.opts.MaxObject {
		return nil, ReasonTooLarge
	}
	return e, Storable
}

// pathIndex returns where the path starts in a primary key.
func pathIndex(url string) int {
	i := 0
	if j := len("https://"); len(url) >= j && url[:j] == "https://" {
		i = j
	} else if j := len("http://"); len(url) >= j && url[:j] == "http://" {
		i = j
	}
	for ; i < len(url); i++ {
		if url[i] == '/' {
			return i
		}
	}
	return len(url)
}

// Put stores e, replacing what is stored under its key, unless a purge
// that ran while it was being fetched covers it. A full cache evicts
// entries to make room, least valuable first; Put never blocks a hit.
func (c *Cache) Put(e *Entry) {
	e.stored = true
	if c.purgedSince(e) {
		return
	}
	c.forget(e)
	if len(e.vary) > 0 {
		c.putVariant(e)
	} else if old, ok := c.store.GetIfPresent(e.key); ok && old.marker {
		// The response no longer varies: its variants are unreachable.
		c.drop(old.variants, "")
	}
	c.store.Set(e.key, e)
}

// maxVariants bounds the variants kept per URL (Vary: User-Agent would
// otherwise fill the cache with one page); the oldest goes first.
const maxVariants = 16

// putVariant files e's secondary key under the marker at its URL, making
// a marker naming e's Vary fields when there is none or it names others,
// and drops the variants that become unreachable or exceed maxVariants.
func (c *Cache) putVariant(e *Entry) {
	var dropped []string
	c.store.Compute(e.url, func(old *Entry, found bool) (*Entry, otter.ComputeOp) {
		dropped = nil // Compute may call this more than once
		m := &Entry{url: e.url, pathAt: e.pathAt, key: e.url, marker: true, fetched: e.fetched}
		m.vary = e.vary
		if found && old.marker && slices.Equal(old.vary, e.vary) {
			for _, k := range old.variants {
				if k == e.key {
					return old, otter.CancelOp
				}
			}
			m.variants = append(append(make([]string, 0, len(old.variants)+1), old.variants...), e.key)
			if len(m.variants) > maxVariants {
				dropped, m.variants = m.variants[:1], m.variants[1:]
			}
		} else {
			if found && old.marker {
				dropped = old.variants
			}
			m.variants = []string{e.key}
		}
		m.size = m.weight()
		return m, otter.WriteOp
	})
	// Outside Compute, whose bucket lock is not reentrant.
	c.drop(dropped, e.key)
}

// drop invalidates the entries stored under keys, but keep.
func (c *Cache) drop(keys []string, keep string) {
	for _, k := range keys {
		if k != keep {
			c.store.Invalidate(k)
		}
	}
}

// Invalidate drops what is stored under primary key key: its entry, or
// its Vary marker and every variant filed under it. The proxy calls it
// for the target of an unsafe request the origin carried out (RFC 9111
// §4.4). Unlike a purge it is not remembered, so a fetch in flight may
// still store what it receives.
func (c *Cache) Invalidate(key []byte) {
	e, ok := c.store.GetIfPresent(b2s(key))
	if !ok {
		return
	}
	if e.marker {
		c.drop(e.variants, "")
	}
	c.removed(e)
}

// Remove drops e, if it is still what is stored under its key.
func (c *Cache) Remove(e *Entry) { c.removed(e) }
