// Package geotest writes small MaxMind-format databases for tests, so that
// no test needs a downloaded GeoIP file.
package geotest

import (
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
)

// Place is what a network of the test database answers.
type Place struct {
	// Network is a CIDR range, e.g. "81.2.69.0/24".
	Network string
	// Country, Region and City are the ISO country code, the ISO
	// subdivision code and the English city name; empty ones are left out
	// of the record.
	Country, Region, City string
}

// Write writes a GeoIP2-City-shaped database of places into t's temporary
// directory and returns its path.
func Write(t testing.TB, places ...Place) string {
	t.Helper()
	tree, err := mmdbwriter.New(mmdbwriter.Options{DatabaseType: "marquee-test-City", RecordSize: 24})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range places {
		_, network, err := net.ParseCIDR(p.Network)
		if err != nil {
			t.Fatal(err)
		}
		rec := mmdbtype.Map{}
		if p.Country != "" {
			rec["country"] = mmdbtype.Map{"iso_code": mmdbtype.String(p.Country)}
		}
		if p.Region != "" {
			rec["subdivisions"] = mmdbtype.Slice{mmdbtype.Map{"iso_code": mmdbtype.String(p.Region)}}
		}
		if p.City != "" {
			rec["city"] = mmdbtype.Map{"names": mmdbtype.Map{"en": mmdbtype.String(p.City)}}
		}
		if err := tree.Insert(network, rec); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(t.TempDir(), "geo.mmdb")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tree.WriteTo(f); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}
