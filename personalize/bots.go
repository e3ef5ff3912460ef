package personalize

import (
	"bytes"
	"strings"

	"github.com/marquee-proxy/marquee/internal/boundedmap"
)

// DefaultBotUserAgents are case-insensitive substrings of the user agents
// of common crawlers and link-preview fetchers (see notBots for the
// exceptions). Headless browsers and command-line clients (curl, wget) are
// not on the list: they are how people test their own sites.
var DefaultBotUserAgents = []string{
	"bot", "crawler", "spider", "slurp", "facebookexternalhit", "embedly",
	"quora link preview", "outbrain", "pinterest", "vkshare", "w3c_validator",
	"whatsapp", "ia_archiver", "mediapartners-google", "lighthouse",
}

// notBots are user-agent words that contain a default crawler pattern but
// name devices: "bot" is in every "…bot" crawler and also in CUBOT, a phone
// maker whose models put the brand in their user agent. An occurrence of a
// default pattern inside one of these words does not count; configured
// patterns mean exactly what they say.
var notBots = [][]byte{[]byte("cubot")}

const (
	botCacheEntries    = 4096
	maxCachedUserAgent = 256
)

// botMatcher recognises crawlers by user agent. User agents repeat across
// requests, so answers are cached per distinct string: a hit costs a map
// lookup instead of a scan of every pattern.
type botMatcher struct {
	patterns   [][]byte // lower case
	exceptions [][]byte // notBots with the default patterns, else none
	cache      *boundedmap.Map[string, bool]
}

func newBotMatcher(patterns []string) *botMatcher {
	b := &botMatcher{cache: boundedmap.NewString[bool](botCacheEntries)}
	if len(patterns) == 0 {
		patterns, b.exceptions = DefaultBotUserAgents, notBots
	}
	for _, p := range patterns {
		if p = strings.ToLower(strings.TrimSpace(p)); p != "" {
			b.patterns = append(b.patterns, []byte(p))
		}
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
	if v, ok := boundedmap.GetBytes(b.cache, ua); ok {
		return v
	}
	v := b.match(ua)
	b.cache.Put(string(ua), v)
	return v
}

func (b *botMatcher) match(ua []byte) bool {
	lower := bytes.ToLower(ua)
	for _, p := range b.patterns {
		for off := 0; ; {
			i := bytes.Index(lower[off:], p)
			if i < 0 {
				break
			}
			i += off
			if !inside(lower, i, p, b.exceptions) {
				return true
			}
			off = i + 1
		}
	}
	return false
}

// inside reports whether the occurrence of p at lower[i:] lies within one
// of words, wherever p occurs in that word.
func inside(lower []byte, i int, p []byte, words [][]byte) bool {
	for _, w := range words {
		for k := bytes.Index(w, p); k >= 0; {
			if start := i - k; start >= 0 && start+len(w) <= len(lower) && bytes.Equal(lower[start:start+len(w)], w) {
				return true
			}
			next := bytes.Index(w[k+1:], p)
			if next < 0 {
				break
			}
			k += 1 + next
		}
	}
	return false
}
