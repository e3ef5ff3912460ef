package proxy

import (
	"context"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/marquee-proxy/marquee/cache"
	"github.com/marquee-proxy/marquee/internal/proxytest"
)

// countingOrigin serves h on loopback and counts the requests it gets.
type countingOrigin struct {
	url  string
	ln   net.Listener
	srv  *fasthttp.Server
	hits atomic.Int64
}

// down takes the origin off the network: its listener closed, its
// keep-alive connections too.
func (o *countingOrigin) down() {
	_ = o.ln.Close()
	_ = o.srv.Shutdown()
}

func startCountingOrigin(t testing.TB, h fasthttp.RequestHandler) *countingOrigin {
	t.Helper()
	o := &countingOrigin{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	o.ln, o.url = ln, "http://"+ln.Addr().String()
	o.srv = &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		o.hits.Add(1)
		h(ctx)
	}, NoDefaultServerHeader: true}
	proxytest.ServeOrigin(t, ln, o.srv)
	return o
}

// cached starts a proxy with the cache on in front of o.
func cached(t testing.TB, o *countingOrigin, co cache.Options, opts Options) *testProxy {
	t.Helper()
	if co.MaxSize == 0 {
		co.MaxSize = 16 << 20
	}
	opts.Cache = &co
	opts.XCacheHeader = true
	return startProxy(t, o.url, opts)
}

func fixed(status int, body string, fields ...string) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		ctx.SetStatusCode(status)
		for _, f := range fields {
			k, v, _ := strings.Cut(f, ":")
			ctx.Response.Header.Add(k, strings.TrimSpace(v))
		}
		ctx.SetBodyString(body)
	}
}

func xcache(r *fasthttp.Response) string { return string(r.Header.Peek("X-Cache")) }

func TestCacheStorage(t *testing.T) {
	tests := []struct {
		name     string
		fields   []string
		req      []string // headers of every request
		status   int
		wantHits int64 // origin requests for three client requests
		wantLast string
	}{
		{"max-age", []string{"Cache-Control: max-age=60"}, nil, 200, 1, "HIT"},
		{"s-maxage", []string{"Cache-Control: s-maxage=60"}, nil, 200, 1, "HIT"},
		{"Expires", []string{"Expires: " + time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)}, nil, 200, 1, "HIT"},
		{"Expires far in the future", []string{"Expires: Fri, 31 Dec 9999 23:59:59 GMT", `ETag: "e"`}, nil, 200, 1, "HIT"},
		{"404", []string{"Cache-Control: max-age=60"}, nil, 404, 1, "HIT"},
		{"no freshness", nil, nil, 200, 3, "MISS"},
		{"private", []string{"Cache-Control: private, max-age=60"}, nil, 200, 3, "MISS"},
		{"no-store", []string{"Cache-Control: no-store, max-age=60"}, nil, 200, 3, "MISS"},
		{"Set-Cookie", []string{"Cache-Control: max-age=60", "Set-Cookie: s=1"}, nil, 200, 3, "MISS"},
		{"Vary Cookie", []string{"Cache-Control: max-age=60", "Vary: Cookie"}, nil, 200, 3, "MISS"},
		{"Vary star", []string{"Cache-Control: max-age=60", "Vary: *"}, nil, 200, 3, "MISS"},
		{"Authorization without public", []string{"Cache-Control: max-age=60"}, []string{"Authorization: Basic eDp5"}, 200, 3, "MISS"},
		{"Authorization with public", []string{"Cache-Control: public, max-age=60"}, []string{"Authorization: Basic eDp5"}, 200, 1, "HIT"},
		{"field for the proxy alone", []string{"Cache-Control: max-age=60", "X-Customer: 42"}, nil, 200, 3, "MISS"},
		{"500", []string{"Cache-Control: max-age=60"}, nil, 500, 3, "MISS"},
		{"request no-store", []string{"Cache-Control: max-age=60"}, []string{"Cache-Control: no-store"}, 200, 3, "MISS"},
		{"client no-cache ignored", []string{"Cache-Control: max-age=60", `ETag: "a"`}, []string{"Cache-Control: no-cache"}, 200, 1, "HIT"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := startCountingOrigin(t, fixed(tc.status, "body of "+tc.name, tc.fields...))
			p := cached(t, o, cache.Options{}, Options{StripResponseHeaders: []string{"X-Customer"}})
			var last *fasthttp.Response
			for range 3 {
				last = p.Get(t, "GET", "/page?a=1", tc.req...)
				if got, want := string(last.Body()), "body of "+tc.name; got != want {
					t.Fatalf("body: got %q, want %q", got, want)
				}
			}
			if got := o.hits.Load(); got != tc.wantHits {
				t.Errorf("origin requests: got %d, want %d", got, tc.wantHits)
			}
			if got := xcache(last); got != tc.wantLast {
				t.Errorf("X-Cache: got %q, want %q", got, tc.wantLast)
			}
		})
	}
}

// TestCacheHitPreconditions: a hit answers If-Match and
// If-Unmodified-Since as the origin would (RFC 9110 §13.2.2).
func TestCacheHitPreconditions(t *testing.T) {
	lm := time.Now().Add(-time.Hour)
	o := startCountingOrigin(t, fixed(200, "x", "Cache-Control: max-age=60", `ETag: "e1"`, "Last-Modified: "+lm.UTC().Format(http.TimeFormat)))
	p := cached(t, o, cache.Options{}, Options{})
	p.Get(t, "GET", "/c")
	tests := []struct {
		name   string
		header []string
		want   int
	}{
		{"If-Match matching", []string{`If-Match: "e1"`}, 200},
		{"If-Match star", []string{"If-Match: *"}, 200},
		{"If-Match other", []string{`If-Match: "e2"`}, 412},
		{"If-Match weak", []string{`If-Match: W/"e1"`}, 412},
		{"If-Unmodified-Since before Last-Modified", []string{"If-Unmodified-Since: " + lm.Add(-time.Hour).UTC().Format(http.TimeFormat)}, 412},
		{"If-Unmodified-Since after Last-Modified", []string{"If-Unmodified-Since: " + lm.Add(time.Minute).UTC().Format(http.TimeFormat)}, 200},
		{"If-Match wins", []string{`If-Match: "e1"`, "If-Unmodified-Since: " + lm.Add(-time.Hour).UTC().Format(http.TimeFormat)}, 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := p.Get(t, "GET", "/c", tc.header...)
			if r.StatusCode() != tc.want || xcache(r) != "HIT" {
				t.Errorf("got %d, X-Cache %q; want %d, HIT", r.StatusCode(), xcache(r), tc.want)
			}
		})
	}
	if got := o.hits.Load(); got != 1 {
		t.Errorf("origin requests: got %d, want 1", got)
	}
}

// TestCacheHeadStaysHead: without a rewrite stage a HEAD that misses goes
// to the origin as HEAD, not as a GET for a body, and stores nothing; a
// stored GET still answers it.
func TestCacheHeadStaysHead(t *testing.T) {
	var mu sync.Mutex
	var methods []string
	o := startCountingOrigin(t, func(ctx *fasthttp.RequestCtx) {
		mu.Lock()
		methods = append(methods, string(ctx.Method()))
		mu.Unlock()
		ctx.Response.Header.Set("Cache-Control", "max-age=60")
		ctx.SetBodyString("body")
	})
	p := cached(t, o, cache.Options{}, Options{})
	steps := []struct {
		method, wantCache, wantBody string
	}{
		{"HEAD", "MISS", ""},
		{"GET", "MISS", "body"},
		{"HEAD", "HIT", ""},
	}
	for _, st := range steps {
		r := p.Get(t, st.method, "/h")
		if xcache(r) != st.wantCache || string(r.Body()) != st.wantBody || r.StatusCode() != 200 {
			t.Errorf("%s: got %d %q %q, want 200 %q %q", st.method, r.StatusCode(), xcache(r), r.Body(), st.wantCache, st.wantBody)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if got := strings.Join(methods, " "); got != "HEAD GET" {
		t.Errorf("origin got %q, want %q", got, "HEAD GET")
	}
}

// TestCacheUnsafeMethodInvalidates: an unsafe request the origin carries
// out drops the stored responses of its target and of the same-origin
// Location and Content-Location of its answer (RFC 9111 §4.4).
func TestCacheUnsafeMethodInvalidates(t *testing.T) {
	tests := []struct {
		name    string
		method  string
		status  int
		fields  []string // of the answer to the unsafe request
		check   string   // the stored URL checked afterwards
		wantHit bool
	}{
		{"POST 200", "POST", 200, nil, "/cart", false},
		{"PUT 204", "PUT", 204, nil, "/cart", false},
		{"DELETE 200", "DELETE", 200, nil, "/cart", false},
		{"POST refused", "POST", 403, nil, "/cart", true},
		{"POST failed", "POST", 500, nil, "/cart", true},
		{"OPTIONS is safe", "OPTIONS", 200, nil, "/cart", true},
		{"Location path", "POST", 303, []string{"Location: /cart/view#top"}, "/cart/view", false},
		{"Content-Location on this host", "POST", 200, []string{"Content-Location: http://HOST/cart/view"}, "/cart/view", false},
		{"Location on another host", "POST", 303, []string{"Location: http://elsewhere.example/cart/view"}, "/cart/view", true},
		{"another URL untouched", "POST", 200, nil, "/cart/view", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var host atomic.Value
			host.Store("")
			o := startCountingOrigin(t, func(ctx *fasthttp.RequestCtx) {
				if ctx.IsGet() {
					ctx.Response.Header.Set("Cache-Control", "max-age=600")
					ctx.SetBodyString("page")
					return
				}
				ctx.SetStatusCode(tc.status)
				for _, f := range tc.fields {
					k, v, _ := strings.Cut(f, ":")
					ctx.Response.Header.Set(k, strings.ReplaceAll(strings.TrimSpace(v), "HOST", host.Load().(string)))
				}
			})
			p := cached(t, o, cache.Options{}, Options{})
			host.Store(p.Addr)
			p.Get(t, "GET", tc.check)
			p.Get(t, tc.method, "/cart")
			if got := xcache(p.Get(t, "GET", tc.check)) == "HIT"; got != tc.wantHit {
				t.Errorf("GET %s after %s /cart: hit %v, want %v", tc.check, tc.method, got, tc.wantHit)
			}
		})
	}
}

func TestCacheHitHeaders(t *testing.T) {
	o := startCountingOrigin(t, fixed(200, "hello", "Cache-Control: max-age=60", "Age: 7", "Content-Type: text/plain",
		"Surrogate-Key: a b", "Cache-Tag: c", `ETag: "e1"`, "X-Origin: yes"))
	p := cached(t, o, cache.Options{}, Options{})
	miss := p.Get(t, "GET", "/x")
	hit := p.Get(t, "GET", "/x")
	if xcache(miss) != "MISS" || xcache(hit) != "HIT" {
		t.Fatalf("X-Cache: got %q then %q, want MISS then HIT", xcache(miss), xcache(hit))
	}
	for _, r := range []*fasthttp.Response{miss, hit} {
		if age, _ := strconv.Atoi(string(r.Header.Peek("Age"))); age < 7 || age > 9 {
			t.Errorf("Age: got %q, want 7 or a little more", r.Header.Peek("Age"))
		}
		if len(r.Header.Peek("Surrogate-Key"))+len(r.Header.Peek("Cache-Tag")) > 0 {
			t.Error("purge tags reached the client")
		}
		if string(r.Header.Peek("X-Origin")) != "yes" || string(r.Header.Peek("Etag")) != `"e1"` || string(r.Header.ContentType()) != "text/plain" {
			t.Errorf("origin fields lost: %s", r.Header.String())
		}
		if len(r.Header.Peek("Warning")) > 0 {
			t.Error("a Warning field was sent")
		}
	}
	if got := stripVolatile(hit.Header.String()); got != stripVolatile(miss.Header.String()) {
		t.Errorf("hit and miss heads differ:\nmiss %s\nhit  %s", stripVolatile(miss.Header.String()), got)
	}
	nm := p.Get(t, "GET", "/x", `If-None-Match: "e1"`)
	if nm.StatusCode() != 304 || len(nm.Body()) != 0 {
		t.Errorf("conditional request: got %d with %d bytes, want 304 and none", nm.StatusCode(), len(nm.Body()))
	}
	head := p.Get(t, "HEAD", "/x")
	if head.StatusCode() != 200 || head.Header.ContentLength() != 5 || xcache(head) != "HIT" {
		t.Errorf("HEAD: got %d, Content-Length %d, X-Cache %q", head.StatusCode(), head.Header.ContentLength(), xcache(head))
	}
	if o.hits.Load() != 1 {
		t.Errorf("origin requests: got %d, want 1", o.hits.Load())
	}
}

// stripVolatile drops the lines of a head that differ between otherwise
// equal responses: Date, Age and X-Cache.
func stripVolatile(head string) string {
	var keep []string
	for _, l := range strings.Split(head, "\r\n") {
		k, _, _ := strings.Cut(l, ":")
		switch strings.ToLower(k) {
		case "date", "age", "x-cache":
			continue
		}
		keep = append(keep, l)
	}
	return strings.Join(keep, "\r\n")
}

func TestCacheKeyIgnoresQuery(t *testing.T) {
	o := startCountingOrigin(t, fixed(200, "x", "Cache-Control: max-age=60"))
	p := cached(t, o, cache.Options{IgnoreQuery: []string{"utm_*", "gclid"}}, Options{})
	for _, path := range []string{"/p?id=1", "/p?utm_source=a&id=1", "/p?id=1&gclid=zz", "/p?id=2"} {
		p.Get(t, "GET", path)
	}
	if got := o.hits.Load(); got != 2 {
		t.Errorf("origin requests: got %d, want 2 (id=1 once, id=2 once)", got)
	}
}

// TestCacheIgnoreQuerySemicolon: an origin that splits the query on ';'
// too reads "utm_source=x;page=evil" as page=evil, so that pair must not
// be left out of the key, or /list would be served page evil.
func TestCacheIgnoreQuerySemicolon(t *testing.T) {
	o := startCountingOrigin(t, func(ctx *fasthttp.RequestCtx) {
		page := "1"
		for _, kv := range strings.FieldsFunc(string(ctx.URI().QueryString()), func(r rune) bool { return r == '&' || r == ';' }) {
			if k, v, _ := strings.Cut(kv, "="); k == "page" {
				page = v
			}
		}
		ctx.Response.Header.Set("Cache-Control", "max-age=60")
		ctx.SetBodyString("page " + page)
	})
	p := cached(t, o, cache.Options{IgnoreQuery: []string{"utm_*"}}, Options{})
	if r := p.Get(t, "GET", "/list?utm_source=x;page=evil"); string(r.Body()) != "page evil" {
		t.Fatalf("attacker: got %q", r.Body())
	}
	if r := p.Get(t, "GET", "/list"); string(r.Body()) != "page 1" {
		t.Errorf("/list: got %q (%s), want %q", r.Body(), xcache(r), "page 1")
	}
}

func TestCacheVary(t *testing.T) {
	o := startCountingOrigin(t, func(ctx *fasthttp.RequestCtx) {
		ctx.Response.Header.Set("Cache-Control", "max-age=60")
		ctx.Response.Header.Set("Vary", "X-Lang")
		ctx.SetBodyString("lang=" + string(ctx.Request.Header.Peek("X-Lang")))
	})
	p := cached(t, o, cache.Options{}, Options{})
	for _, lang := range []string{"en", "fr", "en", "fr", ""} {
		r := p.Get(t, "GET", "/v", "X-Lang: "+lang)
		if got, want := string(r.Body()), "lang="+lang; got != want {
			t.Errorf("X-Lang %q: got %q, want %q", lang, got, want)
		}
	}
	if got := o.hits.Load(); got != 3 {
		t.Errorf("origin requests: got %d, want 3 (en, fr, none)", got)
	}
}

// TestCacheVaryRepeatedField: a Vary field sent twice is one list of both
// values, not its first (RFC 9110 §5.3).
func TestCacheVaryRepeatedField(t *testing.T) {
	o := startCountingOrigin(t, func(ctx *fasthttp.RequestCtx) {
		var langs []string
		for _, v := range ctx.Request.Header.PeekAll("X-Lang") {
			langs = append(langs, string(v))
		}
		ctx.Response.Header.Set("Cache-Control", "max-age=60")
		ctx.Response.Header.Set("Vary", "X-Lang")
		ctx.SetBodyString("lang=" + strings.Join(langs, ","))
	})
	p := cached(t, o, cache.Options{}, Options{})
	p.Get(t, "GET", "/v", "X-Lang: en", "X-Lang: fr")
	if r := p.Get(t, "GET", "/v", "X-Lang: en"); string(r.Body()) != "lang=en" {
		t.Errorf("X-Lang en after en and fr: got %q (%s), want lang=en", r.Body(), xcache(r))
	}
}

// TestCacheCodedWithoutVary: an origin that compresses by Accept-Encoding
// without saying Vary (nginx's default) must not have its gzip body served
// to a client that did not ask for gzip.
func TestCacheCodedWithoutVary(t *testing.T) {
	o := startCountingOrigin(t, func(ctx *fasthttp.RequestCtx) {
		ctx.Response.Header.Set("Cache-Control", "max-age=60")
		ctx.Response.Header.SetContentType("text/css")
		if strings.Contains(string(ctx.Request.Header.Peek("Accept-Encoding")), "gzip") {
			ctx.Response.Header.Set("Content-Encoding", "gzip")
			ctx.SetBody(fasthttp.AppendGzipBytes(nil, []byte("body{}")))
			return
		}
		ctx.SetBodyString("body{}")
	})
	p := cached(t, o, cache.Options{}, Options{})
	tests := []struct {
		ae, wantCoding, wantCache string
	}{
		{"gzip, deflate, br", "gzip", "MISS"},
		{"", "", "MISS"},
		{"deflate, gzip, br", "gzip", "HIT"},
		{"identity", "", "HIT"},
	}
	for _, tc := range tests {
		var r *fasthttp.Response
		if tc.ae == "" {
			r = p.Get(t, "GET", "/s.css")
		} else {
			r = p.Get(t, "GET", "/s.css", "Accept-Encoding: "+tc.ae)
		}
		if ce := string(r.Header.Peek("Content-Encoding")); ce != tc.wantCoding || xcache(r) != tc.wantCache {
			t.Errorf("Accept-Encoding %q: got Content-Encoding %q, X-Cache %q; want %q, %q", tc.ae, ce, xcache(r), tc.wantCoding, tc.wantCache)
		}
	}
}

// TestCacheCollapsesMisses sends 50 concurrent requests for one URL to a
// slow origin: exactly one reaches it.
func TestCacheCollapsesMisses(t *testing.T) {
	release := make(chan struct{})
	o := startCountingOrigin(t, func(ctx *fasthttp.RequestCtx) {
		<-release
		ctx.Response.Header.Set("Cache-Control", "max-age=60")
		ctx.SetBodyString("once")
	})
	p := cached(t, o, cache.Options{CollapseWait: 10 * time.Second}, Options{})
	const n = 50
	var wg sync.WaitGroup
	bodies := make([]string, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			bodies[i] = string(p.Get(t, "GET", "/hot").Body())
		}()
	}
	proxytest.WaitFor(t, "the first request at the origin", func() bool { return o.hits.Load() == 1 })
	collapsed := func() float64 { return gaugeOf(t, p.srv, "marquee_cache_collapsed_total") }
	proxytest.WaitFor(t, "49 collapsed misses", func() bool { return collapsed() == n-1 })
	close(release)
	wg.Wait()
	if got := o.hits.Load(); got != 1 {
		t.Errorf("origin requests: got %d, want 1", got)
	}
	for i, b := range bodies {
		if b != "once" {
			t.Fatalf("request %d: got %q", i, b)
		}
	}
}

// TestCacheUncacheableNotSerialised: once a URL's response proved
// uncacheable, concurrent requests for it go to the origin together
// instead of queueing behind each other's fetches (hit-for-pass).
func TestCacheUncacheableNotSerialised(t *testing.T) {
	const n = 5
	var inflight, most atomic.Int64
	together := make(chan struct{})
	var once sync.Once
	o := startCountingOrigin(t, func(ctx *fasthttp.RequestCtx) {
		cur := inflight.Add(1)
		defer inflight.Add(-1)
		if ctx.Request.Header.Peek("X-Warm") == nil {
			for m := most.Load(); cur > m && !most.CompareAndSwap(m, cur); m = most.Load() {
			}
			if cur == n {
				once.Do(func() { close(together) })
			}
			// Answer when all n are here, or give up after a while.
			select {
			case <-together:
			case <-time.After(3 * time.Second):
			}
		}
		ctx.Response.Header.Set("Cache-Control", "private")
		ctx.SetBodyString("x")
	})
	p := cached(t, o, cache.Options{CollapseWait: 10 * time.Second}, Options{})
	p.Get(t, "GET", "/api", "X-Warm: 1")
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.Get(t, "GET", "/api")
		}()
	}
	wg.Wait()
	if most.Load() != n {
		t.Errorf("at most %d requests were at the origin at once, want %d: they queued behind each other", most.Load(), n)
	}
}

// TestCacheOutageServesStale: when the origin hangs, the one request that
// asked it fails after OriginTimeout, and every request waiting for it, or
// coming soon after, is served the stale entry without asking the origin
// again.
func TestCacheOutageServesStale(t *testing.T) {
	var hang atomic.Bool
	release := make(chan struct{})
	o := startCountingOrigin(t, func(ctx *fasthttp.RequestCtx) {
		if hang.Load() {
			select {
			case <-release:
			case <-time.After(5 * time.Second):
			}
		}
		ctx.Response.Header.Set("Cache-Control", "max-age=60, stale-if-error=600")
		ctx.Response.Header.Set("Age", "60") // stale on arrival
		ctx.SetBodyString("x")
	})
	p := cached(t, o, cache.Options{}, Options{OriginTimeout: time.Second})
	t.Cleanup(func() { close(release) })
	p.Get(t, "GET", "/a")
	hang.Store(true)
	const n = 6
	var wg sync.WaitGroup
	var slowest atomic.Int64
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := time.Now()
			r := p.Get(t, "GET", "/a")
			slowest.Store(max(slowest.Load(), int64(time.Since(start))))
			if r.StatusCode() != 200 || string(r.Body()) != "x" || xcache(r) != "STALE" {
				t.Errorf("got %d %q %q, want the stale entry", r.StatusCode(), r.Body(), xcache(r))
			}
		}()
	}
	wg.Wait()
	if r := p.Get(t, "GET", "/a"); xcache(r) != "STALE" {
		t.Errorf("right after the outage: X-Cache %q, want STALE", xcache(r))
	}
	if got := o.hits.Load(); got != 2 {
		t.Errorf("origin requests: got %d, want 2 (the first, then one during the outage)", got)
	}
	if d := time.Duration(slowest.Load()); d > 2500*time.Millisecond {
		t.Errorf("slowest answer took %v, want about the 1s OriginTimeout", d)
	}
}

// TestCacheStaleIfErrorOriginDown serves an expired entry while the
// origin's listener is closed.
func TestCacheStaleIfErrorOriginDown(t *testing.T) {
	tests := []struct {
		name     string
		fields   []string
		window   time.Duration
		wantCode int
	}{
		{"config default", []string{"Cache-Control: max-age=10", "Age: 10"}, time.Hour, 200},
		{"response's own", []string{"Cache-Control: max-age=10, stale-if-error=3600", "Age: 10"}, 0, 200},
		{"must-revalidate", []string{"Cache-Control: max-age=10, must-revalidate", "Age: 10", `ETag: "x"`}, time.Hour, 502},
		{"past the window", []string{"Cache-Control: max-age=10, stale-if-error=5", "Age: 60", `ETag: "x"`}, 0, 502},
		{"s-maxage implies proxy-revalidate", []string{"Cache-Control: s-maxage=10", "Age: 10", `ETag: "x"`}, time.Hour, 502},
		{"s-maxage with its own stale-if-error", []string{"Cache-Control: s-maxage=10, stale-if-error=3600", "Age: 10"}, time.Hour, 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := startCountingOrigin(t, fixed(200, "the page", tc.fields...))
			p := cached(t, o, cache.Options{StaleIfError: tc.window}, Options{OriginTimeout: 2 * time.Second})
			first := p.Get(t, "GET", "/s")
			if first.StatusCode() != 200 {
				t.Fatalf("first request: %d", first.StatusCode())
			}
			o.down()
			r := p.Get(t, "GET", "/s")
			if r.StatusCode() != tc.wantCode {
				t.Fatalf("origin down: got %d, want %d", r.StatusCode(), tc.wantCode)
			}
			if tc.wantCode != 200 {
				return
			}
			if string(r.Body()) != "the page" || xcache(r) != "STALE" {
				t.Errorf("got %q, X-Cache %q; want the stored page, STALE", r.Body(), xcache(r))
			}
			if age, _ := strconv.Atoi(string(r.Header.Peek("Age"))); age < 10 || age > 12 {
				t.Errorf("Age: got %q, want about 10", r.Header.Peek("Age"))
			}
			if len(r.Header.Peek("Warning")) > 0 {
				t.Error("a Warning field was sent")
			}
		})
	}
}

func TestCacheStaleIfError5xx(t *testing.T) {
	var fail atomic.Bool
	o := startCountingOrigin(t, func(ctx *fasthttp.RequestCtx) {
		if fail.Load() {
			ctx.SetStatusCode(503)
			return
		}
		ctx.Response.Header.Set("Cache-Control", "max-age=1, stale-if-error=600")
		ctx.Response.Header.Set("Age", "1")
		ctx.SetBodyString("good")
	})
	p := cached(t, o, cache.Options{}, Options{})
	p.Get(t, "GET", "/f")
	fail.Store(true)
	r := p.Get(t, "GET", "/f")
	if r.StatusCode() != 200 || string(r.Body()) != "good" || xcache(r) != "STALE" {
		t.Errorf("got %d %q %q, want the stale page", r.StatusCode(), r.Body(), xcache(r))
	}
}

func TestCacheRevalidates(t *testing.T) {
	var conditional atomic.Int64
	o := startCountingOrigin(t, func(ctx *fasthttp.RequestCtx) {
		ctx.Response.Header.Set("Cache-Control", "max-age=0")
		ctx.Response.Header.Set("ETag", `"v1"`)
		if string(ctx.Request.Header.Peek("If-None-Match")) == `"v1"` {
			conditional.Add(1)
			ctx.SetStatusCode(304)
			return
		}
		ctx.SetBodyString("validated body")
	})
	p := cached(t, o, cache.Options{}, Options{})
	first := p.Get(t, "GET", "/r", `If-None-Match: "other"`)
	second := p.Get(t, "GET", "/r")
	if xcache(first) != "MISS" || xcache(second) != "REVALIDATED" {
		t.Errorf("X-Cache: got %q, %q; want MISS, REVALIDATED", xcache(first), xcache(second))
	}
	if string(second.Body()) != "validated body" || second.StatusCode() != 200 {
		t.Errorf("revalidated: got %d %q", second.StatusCode(), second.Body())
	}
	if conditional.Load() != 1 {
		t.Errorf("conditional requests at the origin: got %d, want 1", conditional.Load())
	}
}

// TestCacheRevalidationKeepsProxyFields: a 304 carrying a field meant for
// the proxy alone (a customer id) answers its own visitor but is not
// merged into the entry, or every later visitor would be that customer.
func TestCacheRevalidationKeepsProxyFields(t *testing.T) {
	o := startCountingOrigin(t, func(ctx *fasthttp.RequestCtx) {
		ctx.Response.Header.Set("Cache-Control", "max-age=60")
		ctx.Response.Header.Set("ETag", `"a"`)
		if len(ctx.Request.Header.Cookie("login")) > 0 {
			ctx.Response.Header.Set("X-Customer", "cust-42")
		}
		if string(ctx.Request.Header.Peek("If-None-Match")) == `"a"` {
			ctx.SetStatusCode(304)
			return
		}
		ctx.Response.Header.Set("Age", "60") // stale on arrival
		ctx.SetBodyString(`{"x":1}`)
	})
	var mu sync.Mutex
	seen := map[string]string{}
	p := cached(t, o, cache.Options{}, Options{StripResponseHeaders: []string{"X-Customer"},
		ObserveResponse: func(req *fasthttp.RequestHeader, resp *fasthttp.ResponseHeader) {
			mu.Lock()
			defer mu.Unlock()
			seen[string(req.Cookie("login"))] = string(resp.Peek("X-Customer"))
		}})
	for _, step := range []struct{ who, cookie, want string }{
		{"", "", "MISS"},
		{"alice", "Cookie: login=alice", "REVALIDATED"},
		{"", "", "REVALIDATED"},
	} {
		var r *fasthttp.Response
		if step.cookie == "" {
			r = p.Get(t, "GET", "/api/price")
		} else {
			r = p.Get(t, "GET", "/api/price", step.cookie)
		}
		if xcache(r) != step.want || len(r.Header.Peek("X-Customer")) > 0 {
			t.Errorf("visitor %q: X-Cache %q, X-Customer %q; want %s and none", step.who, xcache(r), r.Header.Peek("X-Customer"), step.want)
		}
	}
	mu.Lock()
	if seen["alice"] != "cust-42" || seen[""] != "" {
		t.Errorf("the proxy saw X-Customer %q for alice and %q for the anonymous visitor; want cust-42 and none", seen["alice"], seen[""])
	}
	mu.Unlock()
	key := p.srv.Cache().AppendKey(nil, false, []byte(p.Addr), []byte("/api/price"))
	if e, _ := p.srv.Cache().Lookup(key, &fasthttp.RequestHeader{}, nil); e != nil {
		for _, f := range e.Fields() {
			if strings.EqualFold(string(f.Name), "X-Customer") {
				t.Errorf("the stored entry carries %s: %s", f.Name, f.Value)
			}
		}
	}
}

func TestCacheStaleWhileRevalidate(t *testing.T) {
	var version atomic.Int64
	o := startCountingOrigin(t, func(ctx *fasthttp.RequestCtx) {
		v := version.Add(1)
		ctx.Response.Header.Set("Cache-Control", "max-age=60, stale-while-revalidate=600")
		if v == 1 {
			ctx.Response.Header.Set("Age", "60") // stale on arrival
		}
		ctx.SetBodyString("v" + strconv.FormatInt(v, 10))
	})
	p := cached(t, o, cache.Options{}, Options{})
	p.Get(t, "GET", "/w")
	r := p.Get(t, "GET", "/w")
	if string(r.Body()) != "v1" || xcache(r) != "STALE" {
		t.Errorf("got %q %q, want the stale v1", r.Body(), xcache(r))
	}
	proxytest.WaitFor(t, "the background revalidation", func() bool { return o.hits.Load() == 2 })
	proxytest.WaitFor(t, "the new version", func() bool { return string(p.Get(t, "GET", "/w").Body()) == "v2" })
	if got := o.hits.Load(); got != 2 {
		t.Errorf("origin requests: got %d, want 2 (the background fetch stored v2)", got)
	}
}

// TestCacheBackgroundRevalidationBacksOff: a background revalidation
// that fails is not retried by every following request.
func TestCacheBackgroundRevalidationBacksOff(t *testing.T) {
	var fail atomic.Bool
	o := startCountingOrigin(t, func(ctx *fasthttp.RequestCtx) {
		if fail.Load() {
			ctx.SetStatusCode(503)
			return
		}
		ctx.Response.Header.Set("Cache-Control", "max-age=60, stale-while-revalidate=600")
		ctx.Response.Header.Set("Age", "60") // stale on arrival
		ctx.SetBodyString("v1")
	})
	p := cached(t, o, cache.Options{}, Options{})
	p.Get(t, "GET", "/b")
	fail.Store(true)
	key := p.srv.Cache().AppendKey(nil, false, []byte(p.Addr), []byte("/b"))
	landed := func() bool {
		f, lead := p.srv.Cache().Join(key)
		if lead {
			p.srv.Cache().Land(f)
		}
		return lead
	}
	for range 4 {
		if r := p.Get(t, "GET", "/b"); string(r.Body()) != "v1" || xcache(r) != "STALE" {
			t.Fatalf("got %q %q, want the stale v1", r.Body(), xcache(r))
		}
		proxytest.WaitFor(t, "the revalidation to end", landed)
	}
	if got := o.hits.Load(); got != 2 {
		t.Errorf("origin requests: got %d, want 2 (the first, then one failed revalidation)", got)
	}
}

// TestCacheShutdownWaitsForRevalidation: Shutdown returns only once the
// background revalidations under way are done.
func TestCacheShutdownWaitsForRevalidation(t *testing.T) {
	var version atomic.Int64
	release := make(chan struct{})
	o := startCountingOrigin(t, func(ctx *fasthttp.RequestCtx) {
		v := version.Add(1)
		if v > 1 {
			<-release
		}
		ctx.Response.Header.Set("Cache-Control", "max-age=60, stale-while-revalidate=600")
		if v == 1 {
			ctx.Response.Header.Set("Age", "60")
		}
		ctx.SetBodyString("v" + strconv.FormatInt(v, 10))
	})
	p := cached(t, o, cache.Options{}, Options{})
	p.Get(t, "GET", "/w")
	p.Get(t, "GET", "/w") // stale: revalidated in the background
	proxytest.WaitFor(t, "the revalidation at the origin", func() bool { return o.hits.Load() == 2 })
	done := make(chan error, 1)
	go func() { done <- p.srv.Shutdown(context.Background()) }()
	select {
	case err := <-done:
		close(release)
		t.Fatalf("Shutdown returned (%v) with a revalidation under way", err)
	case <-time.After(200 * time.Millisecond):
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	key := p.srv.Cache().AppendKey(nil, false, []byte(p.Addr), []byte("/w"))
	if e, _ := p.srv.Cache().Lookup(key, &fasthttp.RequestHeader{}, nil); e == nil || string(e.Body()) != "v2" {
		t.Errorf("after Shutdown the revalidation had not stored v2")
	}
}

// TestCacheRevalidationHoldsUpNoOtherVariant: a variant's background
// revalidation does not make another variant's miss wait for it.
func TestCacheRevalidationHoldsUpNoOtherVariant(t *testing.T) {
	release := make(chan struct{})
	var enFetches atomic.Int64
	o := startCountingOrigin(t, func(ctx *fasthttp.RequestCtx) {
		lang := string(ctx.Request.Header.Peek("X-Lang"))
		if lang == "en" && enFetches.Add(1) > 1 {
			<-release
		}
		ctx.Response.Header.Set("Cache-Control", "max-age=60, stale-while-revalidate=600")
		ctx.Response.Header.Set("Vary", "X-Lang")
		ctx.Response.Header.Set("Age", "60")
		ctx.SetBodyString("lang=" + lang)
	})
	p := cached(t, o, cache.Options{CollapseWait: 30 * time.Second}, Options{})
	t.Cleanup(func() { close(release) }) // before the proxy's Shutdown waits for the revalidation
	p.Get(t, "GET", "/v", "X-Lang: en")
	p.Get(t, "GET", "/v", "X-Lang: en") // stale: revalidated in the background
	proxytest.WaitFor(t, "the revalidation at the origin", func() bool { return enFetches.Load() == 2 })
	fr := make(chan string, 1)
	go func() { fr <- string(p.Get(t, "GET", "/v", "X-Lang: fr").Body()) }()
	var got string
	proxytest.WaitFor(t, "the fr variant", func() bool {
		select {
		case got = <-fr:
			return true
		default:
			return false
		}
	})
	if got != "lang=fr" {
		t.Errorf("fr: got %q", got)
	}
}

func TestCacheTooLargeStreamsThrough(t *testing.T) {
	big := strings.Repeat("x", 300<<10)
	o := startCountingOrigin(t, fixed(200, big, "Cache-Control: max-age=60"))
	p := cached(t, o, cache.Options{MaxSize: 2 << 20, MaxObject: 100 << 10}, Options{})
	for range 2 {
		if r := p.Get(t, "GET", "/big"); string(r.Body()) != big {
			t.Fatalf("body: got %d bytes, want %d", len(r.Body()), len(big))
		}
	}
	if got := o.hits.Load(); got != 2 {
		t.Errorf("origin requests: got %d, want 2", got)
	}
}

func TestCachePurge(t *testing.T) {
	o := startCountingOrigin(t, fixed(200, "x", "Cache-Control: max-age=60", "Surrogate-Key: product-1"))
	p := cached(t, o, cache.Options{}, Options{})
	p.Get(t, "GET", "/p/1")
	p.Get(t, "GET", "/p/1")
	if n := p.srv.Cache().Purge(cache.Purge{Tags: []string{"product-1"}, At: time.Now()}); n != 1 {
		t.Errorf("Purge dropped %d entries, want 1", n)
	}
	if r := p.Get(t, "GET", "/p/1"); xcache(r) != "MISS" {
		t.Errorf("after purge: X-Cache %q, want MISS", xcache(r))
	}
	if got := o.hits.Load(); got != 2 {
		t.Errorf("origin requests: got %d, want 2", got)
	}
}

// TestCachePurgeDuringFetch purges a page while the origin is still
// rendering its old version: the old version must not be stored.
func TestCachePurgeDuringFetch(t *testing.T) {
	var version atomic.Int64
	release := make(chan struct{})
	o := startCountingOrigin(t, func(ctx *fasthttp.RequestCtx) {
		body := "old"
		if version.Load() > 0 {
			body = "new"
		}
		if ctx.Request.Header.Peek("X-First") != nil {
			<-release // rendering takes a while
		}
		ctx.Response.Header.Set("Cache-Control", "max-age=600")
		ctx.SetBodyString(body)
	})
	p := cached(t, o, cache.Options{}, Options{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		p.Get(t, "GET", "/p/1", "X-First: 1")
	}()
	proxytest.WaitFor(t, "the fetch at the origin", func() bool { return o.hits.Load() == 1 })
	version.Store(1) // the content changes, then the CMS purges
	p.srv.Cache().Purge(cache.Purge{URLs: []string{"/p/1"}})
	close(release)
	<-done
	if r := p.Get(t, "GET", "/p/1"); string(r.Body()) != "new" {
		t.Errorf("after the purge: got %q (%s), want new", r.Body(), xcache(r))
	}
}

// TestCacheFloodStaysBounded sends many distinct URLs through the handler
// with a small cache: its weight stays within max_size and the heap flat.
func TestCacheFloodStaysBounded(t *testing.T) {
	const maxSize = 1 << 20
	dial, _ := proxytest.InmemoryOrigin(t, fixed(200, strings.Repeat("b", 1500), "Cache-Control: max-age=600"))
	s, err := New(Options{Origins: []string{"http://origin.test"}, Dial: dial, Cache: &cache.Options{MaxSize: maxSize}})
	if err != nil {
		t.Fatal(err)
	}
	h := s.Handler()
	n := 200000
	if raceEnabled {
		n = 20000
	}
	deadline := time.Now().Add(2 * time.Minute)
	var ctx fasthttp.RequestCtx
	flood := func(from, count int) {
		for i := from; i < from+count && time.Now().Before(deadline); i++ {
			ctx.Request.Reset()
			ctx.Response.Reset()
			ctx.Request.SetRequestURI("/item/" + strconv.Itoa(i))
			ctx.Request.Header.SetHost("shop.test")
			h(&ctx)
			ctx.ResetUserValues()
			if ctx.Response.StatusCode() != 200 {
				t.Fatalf("request %d: %d", i, ctx.Response.StatusCode())
			}
			if i%5000 == 0 {
				if b := s.Cache().Bytes(); b > maxSize {
					t.Fatalf("after %d URLs the cache weighs %d bytes, max_size %d", i, b, maxSize)
				}
			}
		}
	}
	flood(0, n/10)
	before := heapInUse()
	flood(n/10, n-n/10)
	after := heapInUse()
	if b := s.Cache().Bytes(); b > maxSize {
		t.Errorf("the cache weighs %d bytes, more than max_size %d", b, maxSize)
	}
	if after > before+16<<20 {
		t.Errorf("heap grew from %d to %d bytes over %d URLs", before, after, n-n/10)
	}
	t.Logf("%d URLs: heap %d → %d bytes, cache %d bytes in %d entries", n, before, after, s.Cache().Bytes(), s.Cache().Len())
}

// gaugeOf reads the value of the single-series counter or gauge name from
// the server's registry, 0 when absent.
func gaugeOf(t testing.TB, s *Server, name string) float64 {
	t.Helper()
	mfs, err := s.Gatherer().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name || len(mf.GetMetric()) == 0 {
			continue
		}
		m := mf.GetMetric()[0]
		if c := m.GetCounter(); c != nil {
			return c.GetValue()
		}
		return m.GetGauge().GetValue()
	}
	return 0
}

func TestCacheMetricsGathered(t *testing.T) {
	o := startCountingOrigin(t, fixed(200, "m", "Cache-Control: max-age=60"))
	p := cached(t, o, cache.Options{}, Options{})
	p.Get(t, "GET", "/m")
	p.Get(t, "GET", "/m")
	for name, want := range map[string]float64{
		"marquee_cache_hits_total": 1, "marquee_cache_misses_total": 1, "marquee_cache_entries": 1,
		"marquee_cache_stale_total": 0, "marquee_cache_revalidations_total": 0, "marquee_cache_evictions_total": 0,
	} {
		if got := gaugeOf(t, p.srv, name); got != want {
			t.Errorf("%s: got %v, want %v", name, got, want)
		}
	}
	if got := gaugeOf(t, p.srv, "marquee_cache_bytes"); got <= 0 {
		t.Errorf("marquee_cache_bytes: got %v, want more than 0", got)
	}
}

// TestCachePurgesDuringHits runs hits, misses and purges together through
// the handler; run it with -race. Every answer must be whole.
func TestCachePurgesDuringHits(t *testing.T) {
	dial, _ := proxytest.InmemoryOrigin(t, func(ctx *fasthttp.RequestCtx) {
		ctx.Response.Header.Set("Cache-Control", "max-age=600")
		ctx.Response.Header.Set("Surrogate-Key", "all "+string(ctx.Path()))
		ctx.SetBodyString("page " + string(ctx.Path()))
	})
	s, err := New(Options{Origins: []string{"http://origin.test"}, Dial: dial, Cache: &cache.Options{MaxSize: 4 << 20}})
	if err != nil {
		t.Fatal(err)
	}
	h := s.Handler()
	deadline := time.Now().Add(time.Second)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var ctx fasthttp.RequestCtx
			for i := 0; i < 5000 && time.Now().Before(deadline); i++ {
				path := "/p/" + strconv.Itoa((i+g)%20)
				ctx.Request.Reset()
				ctx.Response.Reset()
				ctx.Request.SetRequestURI(path)
				ctx.Request.Header.SetHost("shop.test")
				h(&ctx)
				ctx.ResetUserValues()
				if got := string(ctx.Response.Body()); got != "page "+path {
					t.Errorf("%s: got %q", path, got)
					return
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < 2000 && time.Now().Before(deadline); i++ {
			switch i % 3 {
			case 0:
				s.Cache().Purge(cache.Purge{Tags: []string{"/p/" + strconv.Itoa(i%20)}, At: time.Now()})
			case 1:
				s.Cache().Purge(cache.Purge{Prefixes: []string{"/p/1"}, At: time.Now()})
			default:
				s.Cache().Purge(cache.Purge{All: true, At: time.Now()})
			}
		}
	}()
	wg.Wait()
}

// TestCacheStaleWhileRevalidatePage replaces a stored page in the
// background: the new one is stored decoded and goes through the rewrite
// stage like any hit.
func TestCacheStaleWhileRevalidatePage(t *testing.T) {
	var version atomic.Int64
	o := startCountingOrigin(t, func(ctx *fasthttp.RequestCtx) {
		v := version.Add(1)
		ctx.SetContentType("text/html; charset=utf-8")
		ctx.Response.Header.Set("Cache-Control", "max-age=60, stale-while-revalidate=600")
		if v == 1 {
			ctx.Response.Header.Set("Age", "60")
		}
		ctx.SetBodyString("<p>v" + strconv.FormatInt(v, 10) + " SLOT</p>")
	})
	p := cached(t, o, cache.Options{}, Options{Rewriter: ReplaceRewriter{Marker: []byte("SLOT"), Replacement: []byte("offer")}})
	if r := p.Get(t, "GET", "/page"); string(r.Body()) != "<p>v1 offer</p>" {
		t.Fatalf("miss: got %q", r.Body())
	}
	if r := p.Get(t, "GET", "/page"); string(r.Body()) != "<p>v1 offer</p>" || xcache(r) != "STALE" {
		t.Fatalf("stale: got %q %q", r.Body(), xcache(r))
	}
	proxytest.WaitFor(t, "the new page stored", func() bool {
		r := p.Get(t, "GET", "/page")
		return string(r.Body()) == "<p>v2 offer</p>" && xcache(r) == "HIT"
	})
	if got := o.hits.Load(); got != 2 {
		t.Errorf("origin requests: got %d, want 2", got)
	}
}

func TestCacheClientNoCache(t *testing.T) {
	tests := []struct {
		honor    bool
		header   string
		wantHits int64
	}{
		{false, "Cache-Control: no-cache", 1},
		{true, "Cache-Control: no-cache", 2},
		{true, "Cache-Control: max-age=0", 2},
		{true, "Pragma: no-cache", 2},
		{true, "Cache-Control: max-age=600", 1},
	}
	for _, tc := range tests {
		t.Run(strconv.FormatBool(tc.honor)+" "+tc.header, func(t *testing.T) {
			o := startCountingOrigin(t, fixed(200, "x", "Cache-Control: max-age=60", `ETag: "e"`))
			p := cached(t, o, cache.Options{HonorClientNoCache: tc.honor}, Options{})
			p.Get(t, "GET", "/n")
			p.Get(t, "GET", "/n", tc.header)
			if got := o.hits.Load(); got != tc.wantHits {
				t.Errorf("origin requests: got %d, want %d", got, tc.wantHits)
			}
		})
	}
}
