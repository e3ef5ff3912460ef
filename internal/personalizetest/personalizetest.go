// Package personalizetest owns what the tests of the personalisation stage
// and of the admin API share: a personalising proxy in front of a one-page
// origin, over an in-memory store, and a recorder that counts what the
// stage reports.
package personalizetest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/marquee-proxy/marquee/config"
	"github.com/marquee-proxy/marquee/internal/proxytest"
	"github.com/marquee-proxy/marquee/personalize"
	"github.com/marquee-proxy/marquee/proxy"
	msync "github.com/marquee-proxy/marquee/sync"
)

// SlotPage has three slots (hero, offer, recs) and a marker inside a
// script that is not a slot.
const SlotPage = `<!doctype html>
<html><head><meta charset="utf-8"><title>Shop</title></head>
<body>
<div data-marquee-slot="hero"><a href="/sale">Free shipping</a></div>
<p>Products…</p>
<div data-marquee-slot="offer">No offer</div>
<script>var s = '<div data-marquee-slot="hero">not a slot</div>';</script>
<ul data-marquee-slot="recs"><li>Popular</li></ul>
</body></html>`

// GoldConfig greets gold visitors by name in the hero slot.
const GoldConfig = `segments:
  gold: 'attrs.tier == "gold"'
campaigns:
  - id: gold-hero
    slot: hero
    when: gold
    priority: 10
    template: '<b>Hello {{.Profile.Attrs.name}}, gold offer</b>'
`

// ListingConfig fills the three slots of the listing page
// (bench/testdata) for gold visitors with the visitor's name.
const ListingConfig = `segments:
  gold: 'attrs.tier == "gold"'
campaigns:
  - id: hero
    slot: hero
    when: gold
    template: '<div class="banner"><h2>Welcome back, {{.Profile.Attrs.name}}</h2></div>'
  - id: offer
    slot: offer
    when: gold
    template: '<p class="offer">Free shipping for you, {{.Profile.Attrs.name}}</p>'
  - id: recs
    slot: recs
    when: gold
    template: '<ul><li>{{.Profile.Attrs.name}} picks</li></ul>'
`

// Key signs the visitor cookies of every Env.
var Key = []byte("test-key-0123456789abcdef")

// Env is a personalising proxy on loopback in front of an origin that
// serves one page as cacheable HTML.
type Env struct {
	Proxy  *proxytest.Client
	Server *proxy.Server
	Store  *msync.Store
	Pers   *personalize.Personalizer
	// Origin is the origin's base URL.
	Origin string
}

// StartProxy runs another proxy in front of the Env's origin with the
// same personaliser, configured by o beyond its origin, rewrite stage and
// local handler: to compare the same requests with and without the edge
// cache, say.
func (e *Env) StartProxy(tb testing.TB, o proxy.Options) (*proxy.Server, *proxytest.Client) {
	tb.Helper()
	o.Origins, o.Rewriter, o.Local = []string{e.Origin}, e.Pers, e.Pers
	srv, err := proxy.New(o)
	if err != nil {
		tb.Fatal(err)
	}
	return srv, proxytest.Serve(tb, srv, proxy.ErrServerClosed)
}

// Start runs an Env for the length of the test: yaml holds the config
// beyond the origin; opts are the Personalizer's further options (the
// snapshot and keys are filled in, and an in-memory store unless
// opts.Store is set).
func Start(tb testing.TB, yaml, page string, opts personalize.Options) *Env {
	tb.Helper()
	cfg, err := config.Parse("t.yaml", []byte("origin: http://127.0.0.1:1\n"+yaml))
	if err != nil {
		tb.Fatal(err)
	}
	snap, err := personalize.Compile(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	st := opts.Store
	if st == nil {
		if st, err = msync.Open(msync.Options{}); err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { st.Close() })
	}
	opts.Snapshot, opts.Store, opts.Keys = snap, st, [][]byte{Key}
	pers, err := personalize.New(opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = pers.Close(ctx)
	})
	origin := proxytest.StartOrigin(tb, func(ctx *fasthttp.RequestCtx) {
		ctx.SetContentType("text/html; charset=utf-8")
		ctx.Response.Header.Set("Cache-Control", "public, max-age=60")
		ctx.Response.Header.Set("ETag", `"v1"`)
		ctx.SetBodyString(page)
	})
	srv, err := proxy.New(proxy.Options{Origins: []string{origin}, Rewriter: pers, Local: pers})
	if err != nil {
		tb.Fatal(err)
	}
	return &Env{Proxy: proxytest.Serve(tb, srv, proxy.ErrServerClosed), Server: srv, Store: st, Pers: pers, Origin: origin}
}

// CookieValue returns the value of the cookie name set by resp, or "".
func CookieValue(tb testing.TB, resp *fasthttp.Response, name string) string {
	tb.Helper()
	c := fasthttp.AcquireCookie()
	defer fasthttp.ReleaseCookie(c)
	for k, raw := range resp.Header.Cookies() {
		if string(k) == name && c.ParseBytes(raw) == nil {
			return string(c.Value())
		}
	}
	return ""
}

// Recorder counts exposures and conversions by "campaign/variant".
type Recorder struct {
	mu          sync.Mutex
	exposures   map[string]int
	conversions map[string]int
}

// NewRecorder returns an empty Recorder.
func NewRecorder() *Recorder {
	return &Recorder{exposures: map[string]int{}, conversions: map[string]int{}}
}

// Expose counts an exposure.
func (r *Recorder) Expose(c, v string, _ []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.exposures[c+"/"+v]++
}

// Convert counts a conversion.
func (r *Recorder) Convert(c, v string, _ []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.conversions[c+"/"+v]++
}

// Exposures returns a copy of the exposure counts.
func (r *Recorder) Exposures() map[string]int { return r.copy(r.exposures) }

// Conversions returns a copy of the conversion counts.
func (r *Recorder) Conversions() map[string]int { return r.copy(r.conversions) }

func (r *Recorder) copy(m map[string]int) map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]int, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

var _ personalize.Recorder = (*Recorder)(nil)
