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

func TestNginxConfigCache(t *testing.T) {
	addrs := NginxAddrs{Proxy: "127.0.0.1:1", SubFilter: "127.0.0.1:2"}
	plain := NginxConfig("/tmp/x", "127.0.0.1:9", addrs, []string{"a"})
	if strings.Contains(plain, "proxy_cache") || strings.Count(plain, "server {") != 2 {
		t.Errorf("without the cache:\n%s", plain)
	}
	addrs.Cache, addrs.CacheSubFilter = "127.0.0.1:3", "127.0.0.1:4"
	cached := NginxConfig("/tmp/x", "127.0.0.1:9", addrs, []string{"a"})
	for _, want := range []string{
		"proxy_cache_path /tmp/x/cache-plain ", "keys_zone=plain:", "keys_zone=sub:",
		"listen 127.0.0.1:3;", "listen 127.0.0.1:4;", "proxy_cache plain;", "proxy_cache sub;",
		"proxy_cache_lock on;", "proxy_cache_valid 200", "add_header X-Cache $upstream_cache_status always;",
	} {
		if !strings.Contains(cached, want) {
			t.Errorf("with the cache: no %q in\n%s", want, cached)
		}
	}
	// The origin's Cache-Control must decide freshness.
	if strings.Contains(cached, "proxy_ignore_headers") || strings.Count(cached, "sub_filter 'a'") != 2 || strings.Count(cached, "sendfile off;") != 1 {
		t.Errorf("with the cache:\n%s", cached)
	}
}

// TestNginxSubFilter runs nginx, when installed, and checks that every
// server answers, sub_filter replaced every slot of the listing page, and
// the cache servers answer from their caches after the first request.
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
	n, err := StartNginx(context.Background(), bin, t.TempDir(), o.Addr(), fallbacks, true)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	for _, tc := range []struct {
		url    string
		subs   int
		cached bool
	}{{n.ProxyURL, 0, false}, {n.SubFilterURL, len(slots), false}, {n.CacheURL, 0, true}, {n.CacheSubFilterURL, len(slots), true}} {
		var xcache []string
		for range 2 {
			req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			req.SetRequestURI(tc.url + "/listing")
			if err := fasthttp.Do(req, resp); err != nil || resp.StatusCode() != 200 {
				t.Fatalf("%s: %d, %v\n%s", tc.url, resp.StatusCode(), err, n.errorLog())
			}
			body := resp.Body()
			if got := strings.Count(string(body), NginxReplacement); got != tc.subs {
				t.Errorf("%s: %d substitutions, want %d", tc.url, got, tc.subs)
			}
			if tc.subs == 0 && !bytes.Equal(body, ListingPage) {
				t.Errorf("%s: plain proxy changed the page", tc.url)
			}
			xcache = append(xcache, string(resp.Header.Peek("X-Cache")))
			fasthttp.ReleaseRequest(req)
			fasthttp.ReleaseResponse(resp)
		}
		want := []string{"", ""}
		if tc.cached {
			// The origin's max-age makes the page storable; proxy_cache_lock
			// has the first request wait for nothing.
			want = []string{"MISS", "HIT"}
		}
		if xcache[0] != want[0] || xcache[1] != want[1] {
			t.Errorf("%s: X-Cache %q, want %q", tc.url, xcache, want)
		}
	}
	if got := o.Requests(); got != 6 {
		t.Errorf("origin answered %d requests, want 6 (two per plain server, one per cache)", got)
	}
	if cpu, err := TreeCPU(n.PID()); err != nil || cpu.User < 0 || cpu.Sys < 0 {
		t.Errorf("nginx CPU: %v, %v", cpu, err)
	}
}
