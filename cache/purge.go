package cache

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/maypok86/otter/v2"
)

// MaxPurgeItems bounds the URLs, prefixes and tags of one purge together:
// a purge is replicated to every node and kept for late joiners.
const MaxPurgeItems = 1000

// Purge says which cached entries to drop. An entry matches when its URL
// is one of URLs, starts with one of Prefixes, or carries one of Tags (from
// the origin's Surrogate-Key or Cache-Tag header); All matches every entry.
// Only entries fetched before At (their origin request sent before it, see
// Entry.Fetched) are dropped, so a node that learns of a purge late keeps
// what it fetched after it.
//
// A URL or prefix is either absolute ("https://shop.example/p/1"), matching
// that scheme and host only (the host as clients send it, port included),
// or a path ("/p/1"), matching it on every host. A URL matches one key,
// query included: "/p/1" does not match "/p/1?x=1". A prefix is a plain
// string prefix: "/c" matches "/cart". At is compared with entries' fetch
// times taken from each node's own clock, so a fleet's clocks must agree.
type Purge struct {
	URLs     []string  `json:"urls,omitempty"`
	Prefixes []string  `json:"prefixes,omitempty"`
	Tags     []string  `json:"tags,omitempty"`
	All      bool      `json:"all,omitempty"`
	At       time.Time `json:"at"`
}

// ErrEmptyPurge is returned by Validate for a purge that names nothing.
var ErrEmptyPurge = errors.New("cache: purge names no urls, prefixes or tags and not all")

// Validate reports what makes p unusable: nothing named, too many items,
// an empty item, or a URL or prefix that is neither a path nor an http(s)
// URL.
func (p Purge) Validate() error {
	n := len(p.URLs) + len(p.Prefixes) + len(p.Tags)
	switch {
	case n == 0 && !p.All:
		return ErrEmptyPurge
	case n > MaxPurgeItems:
		return fmt.Errorf("cache: purge names %d items, at most %d", n, MaxPurgeItems)
	}
	for _, u := range p.URLs {
		if err := checkTarget("url", u); err != nil {
			return err
		}
	}
	for _, u := range p.Prefixes {
		if err := checkTarget("prefix", u); err != nil {
			return err
		}
	}
	for _, t := range p.Tags {
		if t == "" || strings.ContainsAny(t, " ,\t\r\n") {
			return fmt.Errorf("cache: purge tag %q: empty or has a separator", t)
		}
	}
	return nil
}

func checkTarget(what, u string) error {
	switch {
	case strings.HasPrefix(u, "/"), strings.HasPrefix(u, "http://"), strings.HasPrefix(u, "https://"):
		if strings.ContainsAny(u, " \t\r\n") {
			return fmt.Errorf("cache: purge %s %q has white space", what, u)
		}
		return nil
	}
	return fmt.Errorf("cache: purge %s %q is neither a path (/…) nor an http(s) URL", what, u)
}

// purgeMatcher is a Purge compiled against the cache's key rules.
type purgeMatcher struct {
	p                     *Purge
	at                    int64
	absURLs, pathURLs     []string
	absPrefix, pathPrefix []string
}

func (c *Cache) compilePurge(p *Purge) purgeMatcher {
	m := purgeMatcher{p: p, at: p.At.UnixNano()}
	for _, u := range p.URLs {
		if strings.HasPrefix(u, "/") {
			m.pathURLs = append(m.pathURLs, string(appendKey(&c.ignore, nil, false, nil, []byte(u)))[len("http://"):])
		} else if tls, host, target, ok := splitAbsolute(u); ok {
			m.absURLs = append(m.absURLs, string(appendKey(&c.ignore, nil, tls, []byte(host), []byte(target))))
		}
	}
	for _, u := range p.Prefixes {
		if strings.HasPrefix(u, "/") {
			m.pathPrefix = append(m.pathPrefix, u)
		} else if tls, host, target, ok := splitAbsolute(u); ok {
			m.absPrefix = append(m.absPrefix, string(appendKey(&c.ignore, nil, tls, []byte(host), nil))+target)
		}
	}
	return m
}

// splitAbsolute splits an http(s) URL into its parts; the target is "/"
// when the URL has no path.
func splitAbsolute(u string) (tls bool, host, target string, ok bool) {
	switch {
	case strings.HasPrefix(u, "https://"):
		tls, u = true, u[len("https://"):]
	case strings.HasPrefix(u, "http://"):
		u = u[len("http://"):]
	default:
		return false, "", "", false
	}
	i := strings.IndexAny(u, "/?")
	if i < 0 {
		return tls, u, "/", true
	}
	host, target = u[:i], u[i:]
	if target[0] == '?' {
		target = "/" + target
	}
	return tls, host, target, true
}

// matches reports whether the purge covers e.
func (m *purgeMatcher) matches(e *Entry) bool {
	if e.fetched >= m.at {
		return false
	}
	if m.p.All {
		return true
	}
	path := e.url[e.pathAt:]
	for _, u := range m.absURLs {
		if e.url == u {
			return true
		}
	}
	for _, u := range m.pathURLs {
		if path == u {
			return true
		}
	}
	for _, pre := range m.absPrefix {
		if strings.HasPrefix(e.url, pre) {
			return true
		}
	}
	for _, pre := range m.pathPrefix {
		if strings.HasPrefix(path, pre) {
			return true
		}
	}
	for _, t := range m.p.Tags {
		for _, et := range e.tags {
			if t == et {
				return true
			}
		}
	}
	return false
}

// Purge drops the entries p covers that were fetched before p.At (a zero
// At means now) and returns how many it dropped on this node. A fetch in
// flight while Purge runs is stored only if it was received after p.At.
// A URL or prefix given as a path matches on every host; as an absolute
// URL, on its scheme and host only; URLs are compared as keys are, with
// Options.IgnoreQuery's parameters left out. Purge walks every entry: it
// costs about a microsecond per thousand entries and never blocks hits.
func (c *Cache) Purge(p Purge) int {
	if p.At.IsZero() {
		p.At = time.Now()
	}
	m := c.compilePurge(&p)
	c.remember(p)
	var doomed []*Entry
	for _, e := range c.store.All() {
		if m.matches(e) {
			doomed = append(doomed, e)
		}
	}
	n := 0
	for _, e := range doomed {
		if c.removed(e) && !e.marker {
			n++
		}
	}
	return n
}

// removed drops e if it is still stored and reports whether it did.
func (c *Cache) removed(e *Entry) bool {
	done := false
	c.store.ComputeIfPresent(e.key, func(old *Entry) (*Entry, otter.ComputeOp) {
		if old == e {
			done = true
			return nil, otter.InvalidateOp
		}
		return old, otter.CancelOp
	})
	return done
}

// remember keeps p among the recent purges that Put checks.
func (c *Cache) remember(p Purge) {
	c.purgeMu.Lock()
	defer c.purgeMu.Unlock()
	if len(c.recent) == maxRecentPurges {
		copy(c.recent, c.recent[1:])
		c.recent = c.recent[:maxRecentPurges-1]
	}
	c.recent = append(c.recent, p)
}

// purgedSince reports whether a recent purge covers e, which was being
// fetched while it ran.
func (c *Cache) purgedSince(e *Entry) bool {
	c.purgeMu.Lock()
	defer c.purgeMu.Unlock()
	for i := range c.recent {
		p := &c.recent[i]
		if e.fetched >= p.At.UnixNano() {
			continue
		}
		m := c.compilePurge(p)
		if m.matches(e) {
			return true
		}
	}
	return false
}
