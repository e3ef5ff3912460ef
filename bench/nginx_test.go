package bench

import (
	"bytes"
	"context"
	"os/exec"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"
)

func TestNginxQuote(t *testing.T) {
	for in, want := range map[string]string{
		`<a href="/sale">$50</a>`: `'<a href="/sale">${dollar}50</a>'`,
		`it's \ odd`:              `'it\'s \\ odd'`,
	} {
		if got := nginxQuote(in); got != want {
			t.Errorf("nginxQuote(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestNginxSubFilter runs nginx, when installed, and checks that both
// servers answer and sub_filter replaced every slot of the listing page.
func TestNginxSubFilter(t *testing.T) {
	bin, err := exec.LookPath("nginx")
	if err != nil {
		t.Skip("nginx not installed")
	}
	if testing.Short() {
		t.Skip("runs nginx; skipped with -short")
	}
	o, err := StartOrigin(OriginOptions{Page: ListingPage})
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	slots, err := PageSlots(ListingPage)
	if err != nil {
		t.Fatal(err)
	}
	var fallbacks []string
	for _, s := range slots {
		fallbacks = append(fallbacks, s.Fallback)
	}
	n, err := StartNginx(context.Background(), bin, t.TempDir(), o.Addr(), fallbacks)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	for _, tc := range []struct {
		url  string
		subs int
	}{{n.ProxyURL, 0}, {n.SubFilterURL, len(slots)}} {
		code, body, err := fasthttp.Get(nil, tc.url+"/listing")
		if err != nil || code != 200 {
			t.Fatalf("%s: %d, %v", tc.url, code, err)
		}
		if got := strings.Count(string(body), NginxReplacement); got != tc.subs {
			t.Errorf("%s: %d substitutions, want %d", tc.url, got, tc.subs)
		}
		if tc.subs == 0 && !bytes.Equal(body, ListingPage) {
			t.Errorf("%s: plain proxy changed the page", tc.url)
		}
	}
	if cpu, err := TreeCPU(n.PID()); err != nil || cpu.User < 0 || cpu.Sys < 0 {
		t.Errorf("nginx CPU: %v, %v", cpu, err)
	}
}
