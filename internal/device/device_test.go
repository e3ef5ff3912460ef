package device

import (
	"testing"
)

// knownAgents are User-Agents of common devices and what they must say.
var knownAgents = []struct {
	name, ua string
	want     Info
}{
	{"iphone safari", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1", Info{Mobile, "ios", "safari"}},
	{"android chrome", "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36", Info{Mobile, "android", "chrome"}},
	{"ipad", "Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1", Info{Tablet, "ios", "safari"}},
	{"windows chrome", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36", Info{Desktop, "windows", "chrome"}},
	{"windows edge", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.51", Info{Desktop, "windows", "edge"}},
	{"mac firefox", "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.4; rv:125.0) Gecko/20100101 Firefox/125.0", Info{Desktop, "macos", "firefox"}},
	{"googlebot", "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", Info{Bot, "", ""}},
	{"empty", "", Info{Bot, "", ""}},
	{"curl", "curl/8.5.0", Info{Bot, "", ""}},
	{"linux firefox", "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0", Info{Desktop, "linux", "firefox"}},
}

func TestParse(t *testing.T) {
	c := New(16)
	for _, tt := range knownAgents {
		t.Run(tt.name, func(t *testing.T) {
			if got := Parse(tt.ua); got != tt.want {
				t.Errorf("Parse: got %+v, want %+v", got, tt.want)
			}
			for range 2 { // a miss, then a hit
				if got := c.Lookup([]byte(tt.ua)); got != tt.want {
					t.Errorf("Lookup: got %+v, want %+v", got, tt.want)
				}
			}
		})
	}
}

// TestCacheCollisions: knownAgents sharing a slot replace each other and are
// each still answered right.
func TestCacheCollisions(t *testing.T) {
	c := New(1)
	for range 3 {
		for _, tt := range knownAgents {
			if got := c.Lookup([]byte(tt.ua)); got != tt.want {
				t.Errorf("%s: got %+v, want %+v", tt.name, got, tt.want)
			}
		}
	}
}

func TestCacheLong(t *testing.T) {
	c := New(0)
	long := make([]byte, MaxCachedLen+1)
	for i := range long {
		long[i] = 'a'
	}
	if got, want := c.Lookup(long), Parse(string(long)); got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
	for i := range c.slots {
		if c.slots[i].Load() != nil {
			t.Fatal("a User-Agent over MaxCachedLen was cached")
		}
	}
}
