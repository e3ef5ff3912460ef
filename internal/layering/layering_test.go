// Package layering_test pins the direction of marquee's dependencies
// (README, "Layout"): a package lower on the request path never reaches,
// even through another package, one above it or one it must stay free of.
package layering_test

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/marquee-proxy/marquee/"

func TestDependenciesPointDown(t *testing.T) {
	tests := []struct {
		pkg       string
		forbidden []string
	}{
		// The proxy serves any rewrite stage: it knows nothing of visitors,
		// rules, profiles, the cluster or the admin API.
		{"proxy", []string{module + "decide", module + "sync", module + "profile", module + "cluster", module + "admin", module + "personalize", module + "config"}},
		// The decision engine reads profiles without the store.
		{"decide", []string{module + "sync", module + "cluster", module + "proxy", module + "personalize", module + "admin", "github.com/tidwall/buntdb", "github.com/hashicorp/memberlist", "github.com/valyala/fasthttp"}},
		{"profile", []string{module + "sync", "github.com/tidwall/buntdb"}},
		{"config", []string{module + "sync", module + "cluster", module + "proxy", module + "personalize", module + "admin"}},
		{"inject", []string{module + "decide", module + "sync", module + "personalize", module + "proxy"}},
		{"cluster", []string{module + "personalize", module + "proxy", module + "admin", module + "decide"}},
		{"personalize", []string{module + "admin", module + "cluster"}},
		// The export stream is fed bytes and strings: it knows no request,
		// profile, rule or store.
		{"export", []string{module + "personalize", module + "admin", module + "proxy", module + "decide", module + "sync", module + "profile", module + "config", module + "cluster", "github.com/valyala/fasthttp"}},
	}
	for _, tt := range tests {
		t.Run(tt.pkg, func(t *testing.T) {
			out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", module+tt.pkg).Output()
			if err != nil {
				t.Fatalf("go list: %v", err)
			}
			deps := strings.Fields(string(out))
			for _, d := range deps {
				for _, f := range tt.forbidden {
					if d == f || strings.HasPrefix(d, f+"/") {
						t.Errorf("%s depends on %s", tt.pkg, d)
					}
				}
			}
		})
	}
}
