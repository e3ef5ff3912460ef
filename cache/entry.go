package cache

import (
	"bytes"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/marquee-proxy/marquee/internal/httpfield"
)

// Entry is one stored response. Everything but its Value is immutable once
// it is stored, so hits read it without locks; a revalidation stores a new
// Entry instead of changing this one. Every slice an Entry returns is
// shared and must not be modified.
type Entry struct {
	url     string // the primary key
	pathAt  int    // index of the path in url
	key     string // the key it is stored under: url, or url and the Vary values
	status  int
	fields  []Field // views into one buffer
	body    []byte
	dec     []byte
	etag    []byte
	lastMod []byte
	tags    []string
	// marker: the entry only names, in vary, the request fields of the
	// secondary keys its URL's variants are stored under.
	marker   bool
	variants []string // on a marker: the secondary keys stored under it, oldest first
	stored   bool     // set by Put; the entry is immutable from then on

	// fetched is when the request for the stored response was sent, Unix
	// ns: what purges compare. Not the response time: a page being
	// rendered while a purge runs may predate the purge.
	fetched int64
	policy
	size uint32

	value atomic.Pointer[valueBox]
}

type valueBox struct{ v any }

// entryOverhead estimates the memory of an Entry beside its slices.
const entryOverhead = 256

// PlanWeight is the weight an entry with a decoded body is charged for the
// rewrite stage's value kept with it: 1 KiB plus a quarter of the decoded
// page. For package personalize the value is a compiled plan (a few hundred
// bytes for its slots) and its static parts compressed with gzip at level
// 6, which on HTML run at 12–20% of the page (8.2 KB for the 61 KB
// listing page).
func PlanWeight(decoded int) int { return 1<<10 + decoded/4 }

// newEntry copies what it keeps of r into one allocation for the fields
// and one per body.
func newEntry(url string, pathAt int, key string, r *Response, p policy) *Entry {
	e := &Entry{url: url, pathAt: pathAt, key: key, status: r.Status, policy: p,
		fetched: r.RequestTime.UnixNano()}
	if r.RequestTime.IsZero() {
		e.fetched = r.ResponseTime.UnixNano()
	}
	n := 0
	nf := 0
	for _, f := range r.Fields {
		if storedField(f.Name) {
			n += len(f.Name) + len(f.Value)
			nf++
		} else if IsTagField(f.Name) {
			e.tags = AppendTags(e.tags, f.Value)
		}
	}
	buf := make([]byte, 0, n)
	e.fields = make([]Field, 0, nf)
	for _, f := range r.Fields {
		if !storedField(f.Name) {
			continue
		}
		buf = append(buf, f.Name...)
		name := buf[len(buf)-len(f.Name):]
		buf = append(buf, f.Value...)
		value := buf[len(buf)-len(f.Value):]
		e.fields = append(e.fields, Field{Name: name, Value: value})
		switch {
		case e.etag == nil && bytes.EqualFold(name, strETag):
			e.etag = value
		case e.lastMod == nil && bytes.EqualFold(name, strLastModified):
			e.lastMod = value
		}
	}
	if r.Body != nil {
		e.body = bytes.Clone(r.Body)
	}
	if r.Decoded != nil {
		e.dec = bytes.Clone(r.Decoded)
	}
	e.size = e.weight()
	return e
}

// storedField reports whether a response field is kept: every field but
// Age, which a hit computes afresh, the purge tags, which clients never
// see, and Content-Length, which the body says.
func storedField(name []byte) bool {
	return !bytes.EqualFold(name, strAge) && !IsTagField(name) && !bytes.EqualFold(name, strContentLength)
}

// weight is the entry's charge against Options.MaxSize: keys, fields,
// bodies, tags, the stage's value and the entry itself.
func (e *Entry) weight() uint32 {
	n := entryOverhead + len(e.url) + len(e.key) + len(e.body) + len(e.dec) + 32*len(e.fields)
	for _, f := range e.fields {
		n += len(f.Name) + len(f.Value)
	}
	for _, t := range e.tags {
		n += len(t) + 16
	}
	for _, v := range e.vary {
		n += len(v) + 16
	}
	for _, v := range e.variants {
		n += len(v) + 16
	}
	if e.dec != nil {
		n += PlanWeight(len(e.dec))
	}
	return uint32(min(n, 1<<32-1))
}

// URL returns the primary key the entry is stored under.
func (e *Entry) URL() string { return e.url }

// Status returns the stored response's status code.
func (e *Entry) Status() int { return e.status }

// Fields returns the stored response's header fields in the order
// received, without Age, Content-Length and the purge tags. Read-only.
func (e *Entry) Fields() []Field { return e.fields }

// Body returns the body as the origin sent it. Read-only.
func (e *Entry) Body() []byte { return e.body }

// Decoded returns the body decoded, for a page the rewrite stage reads, or
// nil. Read-only.
func (e *Entry) Decoded() []byte { return e.dec }

// ShareDecoded makes b the entry's decoded body instead of its own copy,
// when b equals it byte for byte, and reports whether it did. b must never
// change. It works only before Put: a rewrite stage's compiled page keeps
// the body it was compiled for, and sharing it spares both the memory and
// a comparison of the two on every hit.
func (e *Entry) ShareDecoded(b []byte) bool {
	if e.stored || e.dec == nil || !bytes.Equal(b, e.dec) {
		return false
	}
	e.dec = b
	return true
}

// Tags returns the purge tags from Surrogate-Key and Cache-Tag.
func (e *Entry) Tags() []string { return e.tags }

// Fetched returns when the request for the stored response was sent:
// purges drop entries fetched before their time, including those whose
// response was still on its way when the purge ran.
func (e *Entry) Fetched() time.Time { return time.Unix(0, e.fetched) }

// Size returns the entry's weight against Options.MaxSize, in bytes.
func (e *Entry) Size() int { return int(e.size) }

// Value returns the value the rewrite stage keeps with the entry, or nil.
func (e *Entry) Value() any {
	if b := e.value.Load(); b != nil {
		return b.v
	}
	return nil
}

// SetValue replaces the value the rewrite stage keeps with the entry; it
// is safe concurrently with hits reading it. It allocates, so a stage sets
// it on a miss, or when what it kept is out of date, not on every hit.
func (e *Entry) SetValue(v any) { e.value.Store(&valueBox{v}) }

// Freshness is what a stored response may be used for at a given time.
type Freshness uint8

// Freshness states.
const (
	// Fresh: serve it.
	Fresh Freshness = iota
	// StaleWhileRevalidate: serve it, and revalidate it in the background
	// (RFC 5861 §3).
	StaleWhileRevalidate
	// Expired: revalidate before use; serve it only if that fails within
	// its stale-if-error window (see UsableOnError).
	Expired
)

// String names the state.
func (f Freshness) String() string {
	switch f {
	case Fresh:
		return "fresh"
	case StaleWhileRevalidate:
		return "stale-while-revalidate"
	case Expired:
		return "expired"
	default:
		return "unknown"
	}
}

// Freshness reports what the entry may be used for at now (Unix ns). It
// only compares stored instants.
func (e *Entry) Freshness(now int64) Freshness {
	switch {
	case now < e.freshUntil:
		return Fresh
	case !e.noStale && e.swr > 0 && now < addSat(e.freshUntil, e.swr):
		return StaleWhileRevalidate
	default:
		return Expired
	}
}

// UsableOnError reports whether the entry may be served at now (Unix ns)
// when revalidating it failed (an unreachable origin, or 500, 502, 503,
// 504): within its stale-if-error window (RFC 5861 §4), or the cache's
// default one when the response names none, and never when it must be
// revalidated (must-revalidate, proxy-revalidate, no-cache). A response
// with s-maxage, which implies proxy-revalidate (RFC 9111 §5.2.2.10), gets
// only its own window.
func (e *Entry) UsableOnError(now int64, defaultWindow time.Duration) bool {
	if now < e.freshUntil {
		return true
	}
	if e.noStale {
		return false
	}
	w := e.sie
	if w < 0 {
		if e.ownStaleOnly {
			return false
		}
		w = int64(defaultWindow)
	}
	return now < addSat(e.freshUntil, w)
}

// Age returns the entry's current age at now (Unix ns) in whole seconds,
// for the Age field (RFC 9111 §4.2.3, §5.1).
func (e *Entry) Age(now int64) int64 { return max(now-e.born, 0) / int64(time.Second) }

// ETag returns the stored entity tag, or nil.
func (e *Entry) ETag() []byte { return e.etag }

// LastModified returns the stored Last-Modified value, or nil.
func (e *Entry) LastModified() []byte { return e.lastMod }

// HasValidator reports whether the entry can be revalidated with a
// conditional request.
func (e *Entry) HasValidator() bool { return len(e.etag) > 0 || len(e.lastMod) > 0 }

// NotModified reports whether a client's conditional GET or HEAD is
// answered 304 by this entry (RFC 9110 §13.1.2, §13.1.3): If-None-Match
// by weak comparison with the stored ETag, or without it, If-Modified-Since
// no earlier than the stored Last-Modified.
func (e *Entry) NotModified(ifNoneMatch, ifModifiedSince []byte) bool {
	if len(ifNoneMatch) > 0 {
		return len(e.etag) > 0 && etagListMatches(ifNoneMatch, e.etag)
	}
	if len(ifModifiedSince) == 0 || len(e.lastMod) == 0 {
		return false
	}
	ims, err := http.ParseTime(string(ifModifiedSince))
	if err != nil {
		return false
	}
	lm, err := http.ParseTime(string(e.lastMod))
	return err == nil && !lm.After(ims)
}

// PreconditionFailed reports whether a client's If-Match, or without it
// If-Unmodified-Since, is false for this entry, so that a GET or HEAD it
// would answer gets 412 (RFC 9110 §13.2.2, steps 1 and 2). If-Match
// compares strongly, so a weak stored tag never matches; an invalid date,
// or an entry without Last-Modified, leaves If-Unmodified-Since
// unevaluated. Only a 2xx entry is judged (RFC 9110 §13.2.1).
func (e *Entry) PreconditionFailed(ifMatch, ifUnmodifiedSince []byte) bool {
	if e.status < 200 || e.status > 299 {
		return false
	}
	if len(ifMatch) > 0 {
		return !etagListMatchesStrong(ifMatch, e.etag)
	}
	if len(ifUnmodifiedSince) == 0 || len(e.lastMod) == 0 {
		return false
	}
	ius, err := http.ParseTime(string(ifUnmodifiedSince))
	if err != nil {
		return false
	}
	lm, err := http.ParseTime(string(e.lastMod))
	return err == nil && lm.After(ius)
}

// etagListMatchesStrong reports whether an If-Match list holds "*" or a
// tag strongly equal to etag (RFC 9110 §8.8.3.2).
func etagListMatchesStrong(list, etag []byte) bool {
	for tok, rest := httpfield.Next(list); tok != nil || len(rest) > 0; tok, rest = httpfield.Next(rest) {
		if string(tok) == "*" {
			return true
		}
		if len(etag) > 0 && !bytes.HasPrefix(etag, []byte("W/")) && bytes.Equal(tok, etag) {
			return true
		}
	}
	return false
}

// etagListMatches reports whether an If-None-Match list holds "*" or a tag
// weakly equal to etag.
func etagListMatches(list, etag []byte) bool {
	etag = bytes.TrimPrefix(etag, []byte("W/"))
	for tok, rest := httpfield.Next(list); tok != nil || len(rest) > 0; tok, rest = httpfield.Next(rest) {
		if string(tok) == "*" || bytes.Equal(bytes.TrimPrefix(tok, []byte("W/")), etag) {
			return true
		}
	}
	return false
}
