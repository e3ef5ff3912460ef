package cache

import (
	"bytes"
	"math"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/marquee-proxy/marquee/internal/httpfield"
	"github.com/pquerna/cachecontrol/cacheobject"
)

// The rules of a shared cache (RFC 9111), with stale-while-revalidate and
// stale-if-error (RFC 5861). They run on misses and revalidations only: a
// hit compares the instants computed here and parses nothing.
//
// Cache-Control is parsed by pquerna/cachecontrol. Its storage and
// expiration decisions are not used, because they differ from what a
// shared edge cache must do here: they fall back to a heuristic lifetime
// from Last-Modified (this cache stores only explicit freshness); they let
// must-revalidate alone admit a response to a request with Authorization
// (this cache asks for public or s-maxage); and they count a lifetime from
// the time of the decision rather than from the response's age.

// Field is one header field of a response, as the cache stores it.
type Field struct {
	Name, Value []byte
}

// Response is an origin response offered to the cache. The cache copies
// what it keeps; the slices need only stay valid during the call.
type Response struct {
	// Status is the response's status code.
	Status int
	// Fields are the response's end-to-end header fields in the order
	// received, hop-by-hop ones already removed.
	Fields []Field
	// Body is the body as the origin sent it, content coding and all.
	Body []byte
	// Decoded is the body decoded, for a page the rewrite stage reads;
	// nil otherwise.
	Decoded []byte
	// RequestTime is when the request that produced the response was
	// sent, ResponseTime when the response was received (RFC 9111 §4.2.3).
	RequestTime, ResponseTime time.Time
}

// RequestHeader is the part of a request's header the cache reads: the
// fields Vary names, Authorization and Cache-Control.
// fasthttp.RequestHeader implements it.
type RequestHeader interface {
	Peek(key string) []byte
}

// Reason says why a response is not stored.
type Reason uint8

// Reasons a response is not stored.
const (
	Storable            Reason = iota // stored
	ReasonStatus                      // status code not in the stored set
	ReasonDirective                   // Cache-Control that does not parse
	ReasonNoStore                     // no-store
	ReasonPrivate                     // private
	ReasonSetCookie                   // the response sets a cookie
	ReasonAuthorization               // request with Authorization, response neither public nor s-maxage
	ReasonVary                        // Vary: * or Vary naming Cookie, or too many fields
	ReasonNoFreshness                 // no s-maxage, max-age or Expires
	ReasonUseless                     // expired, or no-cache, with no validator to revalidate by
	ReasonTooLarge                    // larger than Options.MaxObject
	ReasonTags                        // more purge tags than an entry may keep
	ReasonCoding                      // a content coding the cache does not know
)

// String names the reason.
func (r Reason) String() string {
	switch r {
	case Storable:
		return "storable"
	case ReasonStatus:
		return "status"
	case ReasonDirective:
		return "bad cache-control"
	case ReasonNoStore:
		return "no-store"
	case ReasonPrivate:
		return "private"
	case ReasonSetCookie:
		return "set-cookie"
	case ReasonAuthorization:
		return "authorization"
	case ReasonVary:
		return "vary"
	case ReasonNoFreshness:
		return "no explicit freshness"
	case ReasonUseless:
		return "expired without validator"
	case ReasonTooLarge:
		return "too large"
	case ReasonTags:
		return "too many tags"
	case ReasonCoding:
		return "unknown content coding"
	default:
		return "unknown"
	}
}

// storableStatus reports whether a response with this status may be
// stored: the codes RFC 9110 §15.1 calls heuristically cacheable, but 206
// (this cache stores no ranges), plus 308, the permanent redirect RFC 7538
// added after that list was written. Each still needs explicit freshness.
func storableStatus(code int) bool {
	switch code {
	case 200, 203, 204, 300, 301, 308, 404, 405, 410, 414, 501:
		return true
	}
	return false
}

// maxVary bounds the fields one Vary may name: each is part of every
// lookup of its URL.
const maxVary = 8

// policy is what Decide computes from a response: its freshness as
// instants (Unix nanoseconds) and what a hit may do with it.
type policy struct {
	born       int64 // when the response's age was zero: response time minus its corrected initial age
	freshUntil int64 // born + freshness lifetime
	swr        int64 // stale-while-revalidate, in ns; -1 none
	sie        int64 // stale-if-error, in ns; -1 none
	noStale    bool  // must-revalidate, proxy-revalidate or no-cache: never served stale
	// ownStaleOnly: s-maxage, which implies proxy-revalidate for a shared
	// cache (RFC 9111 §5.2.2.10): served stale only under the response's
	// own stale-while-revalidate or stale-if-error, never the cache's
	// default window.
	ownStaleOnly bool
	noCache      bool // no-cache: revalidated on every use
	authOK       bool // public or s-maxage: may answer requests with Authorization
	vary         []string
}

var (
	strCacheControl    = []byte("Cache-Control")
	strExpires         = []byte("Expires")
	strDate            = []byte("Date")
	strAge             = []byte("Age")
	strVary            = []byte("Vary")
	strSetCookie       = []byte("Set-Cookie")
	strETag            = []byte("Etag")
	strLastModified    = []byte("Last-Modified")
	strSurrogateKey    = []byte("Surrogate-Key")
	strCacheTag        = []byte("Cache-Tag")
	strContentLength   = []byte("Content-Length")
	strContentEncoding = []byte("Content-Encoding")
)

// decide applies the storage rules to r, answering req. It reads the
// fields of r once and parses Cache-Control with pquerna/cachecontrol.
// defaultSIE is the cache's stale-if-error window for responses that name
// none: it makes a response worth keeping past its freshness even without
// a validator.
func decide(req RequestHeader, r *Response, defaultSIE time.Duration) (policy, Reason) {
	var p policy
	if !storableStatus(r.Status) {
		return p, ReasonStatus
	}
	var cc, expires, date, age []byte
	var hasExpires, hasValidator bool
	var tagBytes, tags int
	coded := false
	var ccBuf []byte
	nCC := 0
	for _, f := range r.Fields {
		switch {
		case bytes.EqualFold(f.Name, strCacheControl):
			if nCC > 0 {
				ccBuf = append(ccBuf, ", "...)
			} else {
				ccBuf = ccBuf[:0]
			}
			ccBuf = append(ccBuf, f.Value...)
			nCC++
		case bytes.EqualFold(f.Name, strExpires):
			if !hasExpires {
				expires, hasExpires = f.Value, true
			}
		case bytes.EqualFold(f.Name, strDate):
			if date == nil {
				date = f.Value
			}
		case bytes.EqualFold(f.Name, strAge):
			if age == nil {
				age = f.Value
			}
		case bytes.EqualFold(f.Name, strSetCookie):
			return p, ReasonSetCookie
		case bytes.EqualFold(f.Name, strVary):
			var ok bool
			if p.vary, ok = appendVary(p.vary, f.Value); !ok {
				return p, ReasonVary
			}
		case bytes.EqualFold(f.Name, strETag), bytes.EqualFold(f.Name, strLastModified):
			hasValidator = hasValidator || len(f.Value) > 0
		case bytes.EqualFold(f.Name, strContentEncoding):
			c, known := responseCoding(f.Value)
			if !known {
				// Its clients cannot be told apart by the codings
				// they accept (coding.go).
				return p, ReasonCoding
			}
			coded = coded || c
		case IsTagField(f.Name):
			tagBytes += len(f.Value)
			tags += countTags(f.Value)
		}
	}
	if coded && !slices.Contains(p.vary, strAcceptEncoding) {
		// With or without Vary saying so (coding.go).
		if p.vary = append(p.vary, strAcceptEncoding); len(p.vary) > maxVary {
			return p, ReasonVary
		}
	}
	if tagBytes > maxTagBytes || tags > maxTags {
		// Keeping some of the tags would let a purge by the others miss
		// the entry.
		return p, ReasonTags
	}
	cc = ccBuf
	d, err := parseDirectives(cc)
	if err != nil {
		return p, ReasonDirective
	}
	switch {
	case d.NoStore:
		return p, ReasonNoStore
	case d.PrivatePresent:
		return p, ReasonPrivate
	}
	p.authOK = d.Public || d.SMaxAge >= 0
	if req != nil && len(req.Peek("Authorization")) > 0 && !p.authOK {
		return p, ReasonAuthorization
	}

	respTime := r.ResponseTime
	dateT, dateErr := http.ParseTime(string(date))
	if dateErr != nil {
		// RFC 9110 §6.6.1: a recipient with a clock takes the time it
		// received the message.
		dateT = respTime
	}
	var lifetime time.Duration
	switch {
	case d.SMaxAge >= 0:
		lifetime = time.Duration(d.SMaxAge) * time.Second
	case d.MaxAge >= 0:
		lifetime = time.Duration(d.MaxAge) * time.Second
	case hasExpires:
		// An invalid Expires, such as "0", means already expired
		// (RFC 9111 §5.3).
		if exp, err := http.ParseTime(string(expires)); err == nil {
			lifetime = max(exp.Sub(dateT), 0)
		}
	default:
		return p, ReasonNoFreshness
	}
	// Like delta-seconds (RFC 9111 §1.2.2), a lifetime saturates at 2^31
	// seconds, so that the instants below cannot overflow: "Expires: Fri,
	// 31 Dec 9999" would otherwise wrap freshUntil into the past.
	lifetime = min(lifetime, maxLifetime)

	// Age, RFC 9111 §4.2.3.
	apparent := max(respTime.Sub(dateT), 0)
	ageValue := time.Duration(parseDelta(age)) * time.Second
	corrected := ageValue + max(respTime.Sub(r.RequestTime), 0)
	initial := max(apparent, corrected)
	p.born = respTime.Add(-initial).UnixNano()
	p.freshUntil = p.born + int64(lifetime)

	p.noCache = d.NoCachePresent
	if p.noCache {
		// Never fresh: every use is revalidated (RFC 9111 §5.2.2.4).
		p.freshUntil = p.born
	}
	p.noStale = d.MustRevalidate || d.ProxyRevalidate || p.noCache
	// s-maxage implies proxy-revalidate, but an explicit stale-* directive
	// beside it is the origin's own, more specific consent (RFC 5861), and
	// what "s-maxage=1, stale-while-revalidate" (Next.js ISR) means.
	p.ownStaleOnly = d.SMaxAge >= 0
	p.swr, p.sie = -1, -1
	if d.StaleWhileRevalidate >= 0 {
		p.swr = int64(d.StaleWhileRevalidate) * int64(time.Second)
	}
	if d.StaleIfError >= 0 {
		p.sie = int64(d.StaleIfError) * int64(time.Second)
	}
	fresh := lifetime > 0 && !p.noCache && respTime.UnixNano() < p.freshUntil
	sie := p.sie
	if sie < 0 && !p.ownStaleOnly {
		sie = int64(defaultSIE)
	}
	if !fresh && !hasValidator && (p.noStale || (p.swr <= 0 && sie <= 0)) {
		return p, ReasonUseless
	}
	return p, Storable
}

// parseDirectives parses a Cache-Control value; an empty one has no
// directives.
func parseDirectives(cc []byte) (*cacheobject.ResponseCacheDirectives, error) {
	return cacheobject.ParseResponseCacheControl(string(cc))
}

// appendVary appends the field names listed in a Vary value, canonical,
// without duplicates. It reports false for "*", for Cookie (a page per
// visitor is not shared), and past maxVary names.
func appendVary(names []string, v []byte) ([]string, bool) {
	for tok, rest := httpfield.Next(v); tok != nil || len(rest) > 0; tok, rest = httpfield.Next(rest) {
		if len(tok) == 0 {
			continue
		}
		if string(tok) == "*" || bytes.EqualFold(tok, []byte("Cookie")) {
			return names, false
		}
		name := http.CanonicalHeaderKey(string(tok))
		dup := false
		for _, n := range names {
			dup = dup || n == name
		}
		if !dup {
			names = append(names, name)
		}
		if len(names) > maxVary {
			return names, false
		}
	}
	return names, true
}

// maxLifetime is the longest freshness lifetime: 2^31 seconds, the
// largest delta-seconds (RFC 9111 §1.2.2).
const maxLifetime = (1 << 31) * time.Second

// addSat returns a+b for b >= 0, saturating instead of overflowing.
func addSat(a, b int64) int64 {
	if s := a + b; s >= a {
		return s
	}
	return math.MaxInt64
}

// parseDelta parses delta-seconds (RFC 9111 §1.2.2): non-negative digits,
// saturating; anything else is 0.
func parseDelta(b []byte) int64 {
	b = bytes.Trim(b, " \t")
	if len(b) == 0 {
		return 0
	}
	n, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		for _, c := range b {
			if c < '0' || c > '9' {
				return 0
			}
		}
		return 1 << 31 // too large: RFC 9111 §1.2.2 says 2^31
	}
	return min(n, 1<<31)
}

// maxTagBytes and maxTags bound what one response may tag itself with,
// in the bytes of its tag fields and in tags (duplicates counted): a
// response past either is not stored rather than stored with some tags
// missing. Fastly allows 16 KiB of Surrogate-Key.
const (
	maxTagBytes = 16 << 10
	maxTags     = 1024
)

// isTagSep reports whether c separates tags.
func isTagSep(c byte) bool { return c == ' ' || c == ',' || c == '\t' }

// countTags counts the tags of a Surrogate-Key or Cache-Tag value,
// duplicates included.
func countTags(v []byte) int {
	n := 0
	for i := range v {
		if !isTagSep(v[i]) && (i == 0 || isTagSep(v[i-1])) {
			n++
		}
	}
	return n
}

// AppendTags appends the tags of a Surrogate-Key or Cache-Tag value,
// separated by spaces, tabs or commas, to dst, skipping empty ones and
// duplicates. The storage rules have bounded the value (maxTagBytes,
// maxTags).
func AppendTags(dst []string, v []byte) []string {
	for len(v) > 0 {
		i := 0
		for i < len(v) && !isTagSep(v[i]) {
			i++
		}
		tok := v[:i]
		if i < len(v) {
			v = v[i+1:]
		} else {
			v = nil
		}
		if len(tok) == 0 {
			continue
		}
		dup := false
		for _, t := range dst {
			dup = dup || t == string(tok)
		}
		if !dup {
			dst = append(dst, string(tok))
		}
	}
	return dst
}

// IsTagField reports whether a response field carries purge tags
// (Surrogate-Key, Cache-Tag): the cache reads them and clients never see
// them.
func IsTagField(name []byte) bool {
	return bytes.EqualFold(name, strSurrogateKey) || bytes.EqualFold(name, strCacheTag)
}
