package proxy

import (
	"bytes"
	"hash/maphash"
	"strings"
	"sync"
)

// DefaultBotUserAgents are case-insensitive substrings of the user agents
// of common crawlers and link-preview fetchers. Headless browsers and
// command-line clients (curl, wget) are not on the list: they are how
// people test their own sites.
var DefaultBotUserAgents = []string{
	"bot", "crawler", "spider", "slurp", "facebookexternalhit", "embedly",
	"quora link preview", "outbrain", "pinterest", "vkshare", "w3c_validator",
	"whatsapp", "ia_archiver", "mediapartners-google", "lighthouse",
}

const (
	botCacheShards     = 16
	botCacheEntries    = 4096
	maxCachedUserAgent = 256
)

// botMatcher recognises crawlers by user agent. User agents repeat across
// requests, so answers are cached per distinct string: a hit costs a map
// lookup instead of a scan of every pattern.
type botMatcher struct {
	patterns [][]byte // lower case
	seed     maphash.Seed
	shards   [botCacheShards]struct {
		mu sync.RWMutex
		m  map[string]bool
	}
}

func newBotMatcher(patterns []string) *botMatcher {
	if len(patterns) == 0 {
		patterns = DefaultBotUserAgents
	}
	b := &botMatcher{seed: maphash.MakeSeed()}
	for _, p := range patterns {
		if p = strings.ToLower(strings.TrimSpace(p)); p != "" {
			b.patterns = append(b.patterns, []byte(p))
		}
	}
	for i := range b.shards {
		b.shards[i].m = map[string]bool{}
	}
	return b
}

// isBot reports whether ua is a crawler's. ua is not retained.
func (b *botMatcher) isBot(ua []byte) bool {
	if len(ua) == 0 {
		return false
	}
	if len(ua) > maxCachedUserAgent {
		// Real user agents are short; long ones are matched each time
		// rather than let them crowd the cache.
		return b.match(ua)
	}
	sh := &b.shards[maphash.Bytes(b.seed, ua)%botCacheShards]
	sh.mu.RLock()
	v, ok := sh.m[string(ua)]
	sh.mu.RUnlock()
	if ok {
		return v
	}
	v = b.match(ua)
	sh.mu.Lock()
	if len(sh.m) >= botCacheEntries/botCacheShards {
		clear(sh.m)
	}
	sh.m[string(ua)] = v
	sh.mu.Unlock()
	return v
}

func (b *botMatcher) match(ua []byte) bool {
	lower := bytes.ToLower(ua)
	for _, p := range b.patterns {
		if bytes.Contains(lower, p) {
			return true
		}
	}
	return false
}
