package personalize_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/marquee-proxy/marquee/cache"
	"github.com/marquee-proxy/marquee/config"
	"github.com/marquee-proxy/marquee/internal/personalizetest"
	"github.com/marquee-proxy/marquee/internal/proxytest"
	"github.com/marquee-proxy/marquee/personalize"
	"github.com/marquee-proxy/marquee/profile"
	"github.com/marquee-proxy/marquee/proxy"
)

// goldVisitor stores a gold profile and returns its cookie.
func goldVisitor(t *testing.T, env *personalizetest.Env, name string) string {
	t.Helper()
	c := string(env.Pers.Signer().AppendMint(nil))
	if _, err := env.Store.Update(c[:personalize.VisitorIDLen], func(p *profile.Profile) error {
		p.Attrs = map[string]any{"tier": "gold", "name": name}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return c
}

// wire is a response as a client sees it: its head without the fields
// that differ between equal answers (Date, Age, X-Cache), and its body.
func wire(r *fasthttp.Response) string {
	var keep []string
	for _, l := range strings.Split(r.Header.String(), "\r\n") {
		k, _, _ := strings.Cut(l, ":")
		switch strings.ToLower(k) {
		case "date", "age", "x-cache":
			continue
		}
		keep = append(keep, l)
	}
	return strings.Join(keep, "\r\n") + string(r.Body())
}

// TestCachedPageIsByteIdentical serves the listing page to the same
// requests through a proxy without the cache and one with it: every
// response from the cache equals the uncached one byte for byte, but for
// Date, Age and X-Cache.
func TestCachedPageIsByteIdentical(t *testing.T) {
	page := proxytest.BenchPage(t)
	env := personalizetest.Start(t, personalizetest.ListingConfig, string(page), personalize.Options{})
	srv, cachedProxy := env.StartProxy(t, proxy.Options{Cache: &cache.Options{MaxSize: 64 << 20}, XCacheHeader: true})
	gold := goldVisitor(t, env, "Ada")
	plain := string(env.Pers.Signer().AppendMint(nil)) // valid cookie, no profile
	tests := []struct {
		name    string
		headers []string
		filled  bool
	}{
		{"gold visitor", []string{"Cookie: mq_vid=" + gold}, true},
		{"gold visitor, gzip", []string{"Cookie: mq_vid=" + gold, "Accept-Encoding: gzip"}, true},
		{"gold visitor, brotli", []string{"Cookie: mq_vid=" + gold, "Accept-Encoding: br"}, true},
		{"visitor without profile", []string{"Cookie: mq_vid=" + plain, "Accept-Encoding: gzip"}, false},
		{"crawler", []string{"User-Agent: Googlebot/2.1", "Accept-Encoding: gzip"}, false},
		{"conditional", []string{"Cookie: mq_vid=" + gold, `If-None-Match: "v1"`}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// Twice each, so that both have stitched gzip parts built.
			for range 2 {
				env.Proxy.Get(t, "GET", "/listing", tc.headers...)
				cachedProxy.Get(t, "GET", "/listing", tc.headers...)
			}
			want := env.Proxy.Get(t, "GET", "/listing", tc.headers...)
			before := env.Pers.Snapshot().Compiler.Stats()
			got := cachedProxy.Get(t, "GET", "/listing", tc.headers...)
			if after := env.Pers.Snapshot().Compiler.Stats(); after != before {
				t.Errorf("a hit asked the plan cache: %+v, then %+v", before, after)
			}
			if x := string(got.Header.Peek("X-Cache")); x != "HIT" {
				t.Fatalf("X-Cache: got %q, want HIT", x)
			}
			if w, g := wire(want), wire(got); w != g {
				t.Errorf("cached response differs from uncached:\nuncached %q\ncached   %q", head(w), head(g))
			}
			if cc := string(got.Header.Peek("Cache-Control")); !strings.HasPrefix(cc, "private") {
				t.Errorf("Cache-Control: got %q, want private", cc)
			}
			if v := string(got.Header.Peek("Vary")); !strings.Contains(v, "Cookie") {
				t.Errorf("Vary: got %q, want Cookie in it", v)
			}
			if len(got.Header.Peek("Etag")) > 0 || got.StatusCode() != 200 {
				t.Errorf("a slotted page carried the origin's ETag or answered %d", got.StatusCode())
			}
			body, err := got.BodyUncompressed()
			if err != nil {
				t.Fatal(err)
			}
			if filled := bytes.Contains(body, []byte("Welcome back, Ada")); filled != tc.filled {
				t.Errorf("offer filled: got %v, want %v", filled, tc.filled)
			}
		})
	}
	if hits := srv.Cache().Len(); hits != 1 {
		t.Errorf("cache entries: got %d, want 1", hits)
	}
}

func head(s string) string {
	if i := strings.Index(s, "\r\n\r\n"); i >= 0 {
		return s[:i]
	}
	return s
}

// TestCachedPlanRecompiledAfterReload stores a page, then swaps in a
// configuration with a selector slot: the next hit must use a plan
// compiled under it.
func TestCachedPlanRecompiledAfterReload(t *testing.T) {
	env := personalizetest.Start(t, goldConfig, slotPage, personalize.Options{})
	_, cachedProxy := env.StartProxy(t, proxy.Options{Cache: &cache.Options{MaxSize: 16 << 20}, XCacheHeader: true})
	gold := goldVisitor(t, env, "Ada")
	cachedProxy.Get(t, "GET", "/")
	if r := cachedProxy.Get(t, "GET", "/", "Cookie: mq_vid="+gold); string(r.Header.Peek("X-Cache")) != "HIT" ||
		!bytes.Contains(r.Body(), []byte("Hello Ada")) || bytes.Contains(r.Body(), []byte("Sale!")) {
		t.Fatalf("before reload: X-Cache %q, body %q", r.Header.Peek("X-Cache"), r.Body())
	}
	cfg, err := config.Parse("t.yaml", []byte("origin: http://127.0.0.1:1\n"+goldConfig+`  - id: products
    slot: products
    template: '<b>Sale!</b>'
slots:
  - {name: products, selector: p}
`))
	if err != nil {
		t.Fatal(err)
	}
	snap, err := personalize.Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	env.Pers.Swap(snap)
	r := cachedProxy.Get(t, "GET", "/", "Cookie: mq_vid="+gold)
	if string(r.Header.Peek("X-Cache")) != "HIT" || !bytes.Contains(r.Body(), []byte("<p><b>Sale!</b></p>")) {
		t.Errorf("after reload: X-Cache %q, body %q; want a hit with the new slot filled", r.Header.Peek("X-Cache"), r.Body())
	}
}
