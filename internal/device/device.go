package device

import (
	"hash/maphash"
	"strings"
	"sync/atomic"

	useragent "github.com/medama-io/go-useragent"
	"github.com/medama-io/go-useragent/agents"
)

// Info is what a User-Agent says. Every value comes from a fixed set of
// lower-case constants, so an Info holds no part of the header it came from.
type Info struct {
	// Type is "mobile", "tablet", "desktop" or "bot". Televisions and
	// unknown agents count as "desktop"; an empty User-Agent as "bot": no
	// browser sends none.
	Type string
	// OS is e.g. "android", "ios", "windows", "macos", "linux"; "" when
	// unknown.
	OS string
	// Browser is e.g. "chrome", "safari", "firefox", "edge",
	// "samsung"; "" when unknown.
	Browser string
}

// Device types.
const (
	Mobile  = "mobile"
	Tablet  = "tablet"
	Desktop = "desktop"
	Bot     = "bot"
)

// MaxCachedLen is the longest User-Agent the cache keeps; longer ones,
// rare and often hostile, are parsed on every request and never evict a
// common one.
const MaxCachedLen = 512

// DefaultEntries is the cache size of New(0): a few thousand distinct
// agents cover nearly all of a shop's traffic.
const DefaultEntries = 4096

var osNames = map[agents.OS]string{
	agents.OSAndroid: "android", agents.OSChromeOS: "chromeos", agents.OSIOS: "ios",
	agents.OSLinux: "linux", agents.OSFreeBSD: "freebsd", agents.OSOpenBSD: "openbsd",
	agents.OSMacOS: "macos", agents.OSWindows: "windows",
}

var browserNames = map[agents.Browser]string{
	agents.BrowserAndroid: "android_browser", agents.BrowserChrome: "chrome", agents.BrowserEdge: "edge",
	agents.BrowserFirefox: "firefox", agents.BrowserIE: "ie", agents.BrowserOpera: "opera",
	agents.BrowserOperaMini: "opera_mini", agents.BrowserSafari: "safari", agents.BrowserVivaldi: "vivaldi",
	agents.BrowserSilk: "silk", agents.BrowserSamsung: "samsung", agents.BrowserFalkon: "falkon",
	agents.BrowserNintendo: "nintendo", agents.BrowserYandex: "yandex", agents.BrowserHuawei: "huawei",
}

// Parse parses ua without the cache.
func Parse(ua string) Info {
	if strings.TrimSpace(ua) == "" {
		return Info{Type: Bot}
	}
	a := useragent.NewParser().Parse(ua)
	info := Info{Type: Desktop, OS: osNames[a.OS()], Browser: browserNames[a.Browser()]}
	switch a.Device() {
	case agents.DeviceMobile:
		info.Type = Mobile
	case agents.DeviceTablet:
		info.Type = Tablet
	case agents.DeviceBot:
		info.Type = Bot
	}
	return info
}

// Cache remembers the Info of recent User-Agents. It is safe for
// concurrent use and never blocks: each agent has one slot, picked by
// hash, and a newcomer simply replaces what the slot held. Reads take no
// lock and, on a hit, do not allocate.
type Cache struct {
	seed  maphash.Seed
	mask  uint64
	slots []atomic.Pointer[entry]
}

type entry struct {
	ua   string
	info Info
}

// New returns a cache of about entries agents, rounded up to a power of
// two; 0 means DefaultEntries.
func New(entries int) *Cache {
	if entries <= 0 {
		entries = DefaultEntries
	}
	n := 1
	for n < entries {
		n <<= 1
	}
	// The parser builds its trie once per process; do it now rather than
	// on the first request.
	useragent.NewParser()
	return &Cache{seed: maphash.MakeSeed(), mask: uint64(n - 1), slots: make([]atomic.Pointer[entry], n)}
}

// Lookup returns what ua says. ua is read, not kept: it may be a header's
// bytes valid only during the request.
func (c *Cache) Lookup(ua []byte) Info {
	if len(ua) > MaxCachedLen {
		return Parse(string(ua))
	}
	slot := &c.slots[maphash.Bytes(c.seed, ua)&c.mask]
	if e := slot.Load(); e != nil && e.ua == string(ua) {
		return e.info
	}
	s := string(ua)
	e := &entry{ua: s, info: Parse(s)}
	slot.Store(e)
	return e.info
}
