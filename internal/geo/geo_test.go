package geo_test

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/marquee-proxy/marquee/internal/geo"
	"github.com/marquee-proxy/marquee/internal/geo/geotest"
)

// headerCases are CDN country header values and what they mean.
var headerCases = []struct{ in, want string }{
	{"FR", "FR"},
	{"fr", "FR"},
	{" de\t", "DE"},
	{"XX", ""},
	{"T1", ""},
	{"", ""},
	{"FRA", ""},
	{"F1", ""},
	{"é", ""},
}

func TestCountry(t *testing.T) {
	for _, tt := range headerCases {
		if got := geo.Country([]byte(tt.in)); got != tt.want {
			t.Errorf("Country(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func FuzzCountry(f *testing.F) {
	for _, tt := range headerCases {
		f.Add(tt.in)
	}
	f.Fuzz(func(t *testing.T, v string) {
		got := geo.Country([]byte(v))
		if got == "" {
			return
		}
		if len(got) != 2 || got[0] < 'A' || got[0] > 'Z' || got[1] < 'A' || got[1] > 'Z' {
			t.Fatalf("Country(%q) = %q, not an upper-case code", v, got)
		}
	})
}

// TestDB looks addresses up in a database the test writes itself.
func TestDB(t *testing.T) {
	path := geotest.Write(t,
		geotest.Place{Network: "81.2.69.0/24", Country: "GB", Region: "ENG", City: "London"},
		geotest.Place{Network: "2.3.0.0/16", Country: "FR", Region: "IDF", City: "Paris"},
		geotest.Place{Network: "2a01:4f8::/32", Country: "DE"},
	)
	db, err := geo.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tests := []struct {
		ip   string
		want geo.Info
	}{
		{"81.2.69.160", geo.Info{Country: "GB", Region: "ENG", City: "London"}},
		{"2.3.4.5", geo.Info{Country: "FR", Region: "IDF", City: "Paris"}},
		{"::ffff:2.3.4.5", geo.Info{Country: "FR", Region: "IDF", City: "Paris"}},
		{"2a01:4f8::1", geo.Info{Country: "DE"}},
		{"8.8.8.8", geo.Info{}},
	}
	for range 2 { // a miss, then the cache
		for _, tt := range tests {
			if got := db.Lookup(netip.MustParseAddr(tt.ip)); got != tt.want {
				t.Errorf("Lookup(%s) = %+v, want %+v", tt.ip, got, tt.want)
			}
		}
	}
	if got := db.Lookup(netip.Addr{}); got != (geo.Info{}) {
		t.Errorf("Lookup(zero) = %+v, want nothing", got)
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	notDB := filepath.Join(dir, "not.mmdb")
	if err := os.WriteFile(notDB, []byte("hello, I am not a database"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := geo.Open(notDB); !errors.Is(err, geo.ErrNotDatabase) {
		t.Errorf("Open(text file) = %v, want ErrNotDatabase", err)
	}
	if _, err := geo.Open(filepath.Join(dir, "missing.mmdb")); err == nil || errors.Is(err, geo.ErrNotDatabase) || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Open(missing) = %v, want a not-exist error", err)
	}
}
