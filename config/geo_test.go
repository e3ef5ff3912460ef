package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/marquee-proxy/marquee/internal/geo/geotest"
)

func TestGeoConfig(t *testing.T) {
	dir := t.TempDir()
	db := geotest.Write(t, geotest.Place{Network: "2.3.0.0/16", Country: "FR"})
	if err := os.Rename(db, filepath.Join(dir, "city.mmdb")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "text.mmdb"), []byte("not a database"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, yaml string
		want       string // "" for valid
		warning    string
	}{
		{"header and database", "trusted_proxies: [10.0.0.0/8]\ngeo:\n  header: CF-IPCountry\n  database: city.mmdb\n", "", ""},
		{"database only", "geo: {database: city.mmdb}\n", "", ""},
		{"header without trusted proxies", "geo: {header: CF-IPCountry}\n", "", "m.yaml:2: geo.header: CF-IPCountry is believed only from trusted_proxies"},
		{"bad header name", "trusted_proxies: [10.0.0.1]\ngeo:\n  header: 'CF IPCountry'\n", `m.yaml:4: geo.header: "CF IPCountry" is not a header name`, ""},
		{"missing database", "geo:\n  database: nope.mmdb\n", "m.yaml:3: geo.database: geo: open " + filepath.Join(dir, "nope.mmdb") + ": no such file or directory", ""},
		{"not a database", "geo:\n  database: text.mmdb\n", "m.yaml:3: geo.database: geo: not a MaxMind DB: " + filepath.Join(dir, "text.mmdb"), ""},
		{"unknown key", "geo:\n  headers: CF-IPCountry\n", `m.yaml:3: geo.headers: unknown field "headers" (did you mean "header"?)`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, "m.yaml")
			if err := os.WriteFile(path, []byte("origin: http://o:1\n"+tt.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			c, err := Load(path)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Load: %v", err)
				}
			} else {
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("got %v, want %q", err, tt.want)
				}
				return
			}
			ws := c.Warnings().Error()
			if len(c.Warnings()) == 0 {
				ws = ""
			}
			if tt.warning == "" && ws != "" || !strings.Contains(ws, tt.warning) {
				t.Errorf("warnings %q, want %q", ws, tt.warning)
			}
		})
	}
}
