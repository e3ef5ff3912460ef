package admin

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/marquee-proxy/marquee/cache"
	"github.com/marquee-proxy/marquee/internal/apierror"
)

// Cache is the node's edge cache as the admin API sees it. Purge may be
// called by several requests at once, concurrently with the proxy's use
// of the cache, and must not block on the network. p's slices belong to
// the caller, which does not modify them afterwards.
type Cache interface {
	// Purge drops the entries p matches that were fetched before p.At,
	// and returns how many it dropped.
	Purge(p cache.Purge) int
}

// PurgePublisher replicates cache purges to the node's fleet.
type PurgePublisher interface {
	// PublishPurge sends p, which this node has just applied, to every
	// other node, now or when they can be reached. It must not block on
	// the network. An error means p was not replicated.
	PublishPurge(p cache.Purge) error
}

// maxPurgeSkew is how far past this node's clock a purge's "at" may lie:
// a client's clock a little ahead is forgiven (and the time taken as
// now), a purge of what will be fetched later is refused.
const maxPurgeSkew = 2 * time.Second

// purgeBody is what POST /v1/cache/purge takes: cache.Purge's JSON, with
// "at" optional. Without "at" the purge drops what was fetched before the
// node received it; an earlier "at" (e.g. when a deploy started) drops
// only what was fetched before then.
type purgeBody struct {
	URLs     []string `json:"urls"`
	Prefixes []string `json:"prefixes"`
	Tags     []string `json:"tags"`
	All      bool     `json:"all"`
	At       string   `json:"at"`
}

// purgeAnswer is what POST /v1/cache/purge answers.
type purgeAnswer struct {
	// Dropped is how many entries this node dropped; other nodes drop
	// theirs as the purge reaches them.
	Dropped int `json:"dropped"`
	// Replicated: the purge was handed to the fleet. False on a node
	// without a cluster, and when handing it over failed.
	Replicated bool `json:"replicated"`
	// ReplicationError says why a node with a cluster could not hand the
	// purge to it, so that a client does not take it for a node without
	// one; empty otherwise.
	ReplicationError string `json:"replication_error,omitempty"`
	// At is the time the purge applies before.
	At time.Time `json:"at"`
}

func (a *admin) postCachePurge(w http.ResponseWriter, r *http.Request) error {
	if a.opts.Cache == nil {
		return apierror.Errorf(http.StatusNotFound, apierror.CodeCacheOff, "", "the edge cache is off on this node: its config has no cache section")
	}
	var body purgeBody
	if err := decodeBody(r, &body); err != nil {
		return err
	}
	p, err := body.purge(time.Now())
	if err != nil {
		return err
	}
	out := purgeAnswer{Dropped: a.opts.Cache.Purge(p), At: p.At}
	if a.opts.Purges != nil {
		if err := a.opts.Purges.PublishPurge(p); err != nil {
			a.log.Warn("admin: purge not replicated", "err", err)
			out.ReplicationError = err.Error()
		} else {
			out.Replicated = true
		}
	}
	noteOf(r).summary = fmt.Sprintf("purged %s (%s)", plural(out.Dropped, "entry"), purgeSummary(p))
	writeJSON(w, http.StatusOK, out)
	return nil
}

// purgeSummary says what a purge named: every tag and prefix (up to a
// few), and how many URLs, whose query strings may carry what the audit
// log does not keep.
func purgeSummary(p cache.Purge) string {
	if p.All {
		return "all"
	}
	var parts []string
	if len(p.Tags) > 0 {
		parts = append(parts, "tags: "+nameList(p.Tags))
	}
	if len(p.Prefixes) > 0 {
		parts = append(parts, "prefixes: "+nameList(p.Prefixes))
	}
	if len(p.URLs) > 0 {
		parts = append(parts, plural(len(p.URLs), "url"))
	}
	return strings.Join(parts, "; ")
}

// purge checks the body and turns it into the purge to apply at now,
// naming the field at fault.
func (b *purgeBody) purge(now time.Time) (cache.Purge, error) {
	p := cache.Purge{URLs: b.URLs, Prefixes: b.Prefixes, Tags: b.Tags, All: b.All, At: now}
	if b.At != "" {
		at, err := time.Parse(time.RFC3339Nano, b.At)
		switch {
		case err != nil:
			return p, apierror.Errorf(http.StatusBadRequest, apierror.CodeInvalidField, "at", "want an RFC 3339 time, e.g. 2026-12-07T06:00:00Z")
		case at.After(now.Add(maxPurgeSkew)):
			return p, apierror.Errorf(http.StatusBadRequest, apierror.CodeInvalidField, "at", "%s is in the future: a purge drops what was fetched before it", b.At)
		case at.Before(time.Unix(1, 0)):
			return p, apierror.Errorf(http.StatusBadRequest, apierror.CodeInvalidField, "at", "%s is before 1970", b.At)
		case at.Before(now):
			p.At = at
		}
	}
	if err := p.Validate(); err != nil {
		return p, apierror.Errorf(http.StatusBadRequest, apierror.CodeInvalidField, purgeField(p), "%s", strings.TrimPrefix(err.Error(), "cache: "))
	}
	return p, nil
}

// purgeField names the list that makes p invalid, or "" when the fault
// is the whole purge's (nothing named, too many items).
func purgeField(p cache.Purge) string {
	for _, f := range []struct {
		name string
		one  cache.Purge
	}{
		{"urls", cache.Purge{URLs: p.URLs}},
		{"prefixes", cache.Purge{Prefixes: p.Prefixes}},
		{"tags", cache.Purge{Tags: p.Tags}},
	} {
		n := len(f.one.URLs) + len(f.one.Prefixes) + len(f.one.Tags)
		if n > 0 && n <= cache.MaxPurgeItems && f.one.Validate() != nil {
			return f.name
		}
	}
	return ""
}
