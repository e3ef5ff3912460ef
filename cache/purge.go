package cache

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// MaxPurgeItems bounds the URLs, prefixes and tags of one purge together:
// a purge is replicated to every node and kept for late joiners.
const MaxPurgeItems = 1000

// Purge says which cached entries to drop. An entry matches when its URL
// is one of URLs, starts with one of Prefixes, or carries one of Tags (from
// the origin's Surrogate-Key or Cache-Tag header); All matches every entry.
// Only entries fetched before At are dropped, so a node that learns of a
// purge late keeps what it fetched after it.
//
// A URL or prefix is either absolute ("https://shop.example/p/1"), matching
// that scheme and host only, or a path ("/p/1"), matching it on every host.
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
