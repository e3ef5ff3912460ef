package device

import (
	"testing"
)

// FuzzLookup: any header value gives one of the four types and the same
// answer from the cache as from the parser, without panicking.
func FuzzLookup(f *testing.F) {
	for _, tt := range knownAgents {
		f.Add(tt.ua)
	}
	f.Add("Mozilla/5.0 (\x00; ;;;)")
	c := New(8)
	f.Fuzz(func(t *testing.T, ua string) {
		want := Parse(ua)
		switch want.Type {
		case Mobile, Tablet, Desktop, Bot:
		default:
			t.Fatalf("type %q for %q", want.Type, ua)
		}
		for range 2 {
			if got := c.Lookup([]byte(ua)); got != want {
				t.Fatalf("Lookup(%q) = %+v, Parse = %+v", ua, got, want)
			}
		}
	})
}
