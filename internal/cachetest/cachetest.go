// Package cachetest holds a stand-in for the edge cache in tests of the
// code that purges it (the admin API, the command's wiring).
package cachetest

import (
	"slices"
	"sync"

	"github.com/marquee-proxy/marquee/cache"
)

// Recorder records the purges it is asked to apply and reports one entry
// dropped per item named. It is safe for concurrent use.
type Recorder struct {
	mu  sync.Mutex
	got []cache.Purge
}

// Purge records p.
func (r *Recorder) Purge(p cache.Purge) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, p)
	return len(p.URLs) + len(p.Prefixes) + len(p.Tags)
}

// Purges returns the purges recorded, in order.
func (r *Recorder) Purges() []cache.Purge {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.got)
}

// Items lists every URL, prefix and tag purged, and "*" for each purge of
// all, sorted.
func (r *Recorder) Items() []string {
	var out []string
	for _, p := range r.Purges() {
		out = append(append(append(out, p.URLs...), p.Prefixes...), p.Tags...)
		if p.All {
			out = append(out, "*")
		}
	}
	slices.Sort(out)
	return out
}
