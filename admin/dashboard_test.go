package admin

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/marquee-proxy/marquee/cache"
	"github.com/marquee-proxy/marquee/decide"
	"github.com/marquee-proxy/marquee/decide/stats"
	"github.com/marquee-proxy/marquee/internal/apierror"
	"github.com/marquee-proxy/marquee/internal/personalizetest"
	"github.com/marquee-proxy/marquee/internal/proxytest"
	"github.com/marquee-proxy/marquee/personalize"
	"github.com/marquee-proxy/marquee/profile"
	"github.com/marquee-proxy/marquee/proxy"
	msync "github.com/marquee-proxy/marquee/sync"
)

// dashboardConfig has what every card of the dashboard shows: a segment, a
// scheduled and capped campaign, an experiment with a holdout and one with
// a control. The condition carries markup, which must reach the page as text.
const dashboardConfig = `conversions: {paths: ["/checkout/complete"], window: 1d}
segments:
  gold: 'attrs.tier == "gold"'
campaigns:
  - id: gold-hero
    slot: hero
    when: 'gold && attrs.name != "<img src=x onerror=alert(3)>"'
    priority: 10
    template: |
      <b>Hello {{.Profile.Attrs.name}}</b>
      <i>gold members only</i>
    schedule: {from: "2020-01-01T00:00:00Z", days: [mon, tue, wed, thu, fri, sat, sun]}
    cap: {max: 5, window: 1d}
  - id: spring-sale
    slot: offer
    priority: 5
    template: '<i>Spring sale: "20% off"</i>'
    experiment:
      holdout: 0.2
      variants:
        - {name: banner-a, control: true}
        - {name: banner-b, template: '<i>Spring sale, banner B</i>'}
  - id: exit-offer
    slot: recs
    template: '<li>Free gift</li>'
    experiment:
      variants:
        - {name: gift, control: true}
        - {name: voucher, weight: 1, template: '<li>10 EUR voucher</li>'}
`

// previewShop is the shop's origin the console may frame in tests.
const previewShop = "http://shop.example:8080"

// xssPayload is a profile attribute that would run script if the dashboard
// ever treated API data as markup.
const xssPayload = `<img src=x onerror=alert(1)>`

// dashboardEnv is an admin API with every data source the dashboard reads:
// a store, a Personalizer with campaigns, real proxy metrics and
// experiment statistics.
type dashboardEnv struct {
	admin *httptest.Server
	proxy *proxytest.Client
	store *msync.Store
	rec   *stats.Recorder
	// history samples the proxy's metrics when the test says so.
	history *MetricsHistory
	// heldOut is a stored visitor in spring-sale's holdout.
	heldOut string
}

func newDashboardEnv(t *testing.T, token string) *dashboardEnv {
	t.Helper()
	rec := stats.NewRecorder(stats.Config{})
	env := personalizetest.Start(t, dashboardConfig, slotPage, personalize.Options{Recorder: rec})
	// Pages go through a proxy with the edge cache on, so the dashboard
	// shows its hit ratio.
	srv, p := env.StartProxy(t, proxy.Options{Cache: &cache.Options{MaxSize: 8 << 20}})
	st, pers := env.Store, env.Pers
	hist := NewMetricsHistory(srv.Gatherer(), 0, 0)
	h, err := New(Options{
		History:      hist,
		Token:        token,
		Tokens:       roleTokens,
		PreviewURL:   previewShop + "/",
		Store:        st,
		Gatherer:     srv.Gatherer(),
		Personalizer: pers,
		Stats:        func() any { return rec.Report("edge-1") },
		Segments: func(prof *profile.Profile) []string {
			d := pers.Snapshot().Engine.Acquire(prof, []byte(prof.ID), time.Now())
			defer d.Release()
			return d.SegmentNames()
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	adm := httptest.NewServer(h)
	t.Cleanup(adm.Close)
	if _, err := st.Update("xss-visitor", func(p *profile.Profile) error {
		p.Attrs = map[string]any{"tier": "gold", "name": xssPayload, xssPayload: "as a key too"}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	de := &dashboardEnv{admin: adm, proxy: p, store: st, rec: rec, history: hist}
	// Assignment is a hash of the id: try ids until one falls in the
	// holdout (a fifth of them).
	for i := 0; de.heldOut == ""; i++ {
		id := "held-" + strconv.Itoa(i)
		prof := &profile.Profile{ID: id}
		for _, c := range pers.Snapshot().Engine.Explain(prof, []byte(id), time.Now()).Campaigns {
			if c.ID == "spring-sale" && c.Chosen && c.Variant == decide.HoldoutVariant {
				de.heldOut = id
			}
		}
		if i == 1000 {
			t.Fatal("no visitor in spring-sale's holdout among 1,000 ids")
		}
	}
	if _, err := st.Update(de.heldOut, func(p *profile.Profile) error {
		p.Attrs = map[string]any{"tier": "basic"}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return de
}

// browse sends n page views of new visitors through the proxy, so that
// outcomes, rewrite latencies and exposures are real. They ask for four
// pages in turn: the first view of each is a cache miss, the rest hits.
func (e *dashboardEnv) browse(t *testing.T, n int) {
	t.Helper()
	// One sample before and one after, 10 s apart as the node takes them:
	// the charts have a point.
	t0 := time.Now()
	if err := e.history.Sample(t0.Add(-10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := e.history.Sample(t0); err != nil {
			t.Fatal(err)
		}
	}()
	for i := range n {
		if r := e.proxy.Get(t, "GET", fmt.Sprintf("/page/%d", i%4)); r.StatusCode() != 200 {
			t.Fatalf("page view %d: status %d", i, r.StatusCode())
		}
	}
}

// recordExperiments adds exposures and conversions enough for lift, its
// interval and p-values; exit-offer is split 1:2 against its configured
// 1:1, which must raise the sample-ratio warning. spring-sale's visitors
// are also enrolled, so it has experiment metrics: banner-b's legacy
// z-test is significant (p ≈ 0.02), its always-valid p-value is not.
func (e *dashboardEnv) recordExperiments() {
	arms := []struct {
		campaign, variant string
		visitors, convert int
	}{
		{"spring-sale", "banner-a", 400, 40},
		{"spring-sale", "banner-b", 400, 64},
		{"spring-sale", "holdout", 200, 12},
		{"exit-offer", "gift", 200, 10},
		{"exit-offer", "voucher", 400, 30},
	}
	for _, a := range arms {
		for i := range a.visitors {
			v := []byte(fmt.Sprintf("%s-%s-%d", a.campaign, a.variant, i))
			e.rec.Expose(a.campaign, a.variant, v)
			if a.campaign == "spring-sale" {
				e.rec.Enroll(a.campaign, a.variant, stats.Covariate{})
			}
			if i < a.convert {
				e.rec.Convert(a.campaign, a.variant, v)
				if a.campaign == "spring-sale" {
					e.rec.Outcome(a.campaign, a.variant, stats.Outcome{Value: 20})
				}
			}
		}
	}
}

func TestDashboardServing(t *testing.T) {
	const token = "s3cret"
	env := newDashboardEnv(t, token)
	tests := []struct {
		name, method, path, token string
		status                    int
		dashboard                 bool   // the response is the dashboard
		code                      string // else the JSON error code, "" for a success
	}{
		{"GET / without token", "GET", "/", "", 200, true, ""},
		{"HEAD / without token", "HEAD", "/", "", 200, true, ""},
		{"GET / with a wrong token", "GET", "/", "nope", 200, true, ""},
		{"GET / with the token", "GET", "/", token, 200, true, ""},
		{"GET / with a query", "GET", "/?x=1", "", 200, true, ""},
		{"POST /", "POST", "/", token, 405, false, apierror.CodeMethodNotAllowed},
		{"unknown path", "GET", "/nope", "", 404, false, apierror.CodeNotFound},
		{"unknown path with token", "GET", "/nope", token, 404, false, apierror.CodeNotFound},
		{"no index.html", "GET", "/index.html", "", 404, false, apierror.CodeNotFound},
		{"no asset directory", "GET", "/dashboard/", "", 404, false, apierror.CodeNotFound},
		{"campaigns need the token", "GET", "/v1/campaigns", "", 401, false, apierror.CodeUnauthorized},
		{"stats need the token", "GET", "/v1/stats", "", 401, false, apierror.CodeUnauthorized},
		{"metrics need the token", "GET", "/metrics", "", 401, false, apierror.CodeUnauthorized},
		{"profiles need the token", "GET", "/v1/profiles/xss-visitor", "", 401, false, apierror.CodeUnauthorized},
		{"a wrong token is refused", "GET", "/v1/stats", "nope", 401, false, apierror.CodeUnauthorized},
		{"the token opens the API", "GET", "/v1/stats", token, 200, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := adminDo(t, env.admin, tt.method, tt.path, tt.token, "")
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d; body %q", resp.StatusCode, tt.status, body)
			}
			if !tt.dashboard {
				if ct := resp.Header.Get("Content-Type"); strings.HasPrefix(ct, "text/html") {
					t.Errorf("Content-Type %q: not the dashboard, want JSON", ct)
				}
				if tt.code == "" {
					return
				}
				var out map[string]any
				if err := json.Unmarshal(body, &out); err != nil {
					t.Fatalf("body %q is not JSON: %v", body, err)
				}
				if got := errField(out, "code"); got != tt.code {
					t.Errorf("error code %q, want %q", got, tt.code)
				}
				return
			}
			want := map[string]string{
				"Content-Type":            "text/html; charset=utf-8",
				"Cache-Control":           "no-store",
				"X-Content-Type-Options":  "nosniff",
				"Referrer-Policy":         "no-referrer",
				"X-Frame-Options":         "DENY",
				"Content-Security-Policy": dashboardPolicy(previewShop),
				"Content-Length":          strconv.Itoa(len(dashboardPage)),
			}
			for k, v := range want {
				if got := resp.Header.Get(k); got != v {
					t.Errorf("%s: got %q, want %q", k, got, v)
				}
			}
			wantBody := string(dashboardPage)
			if tt.method == "HEAD" {
				wantBody = ""
			}
			if string(body) != wantBody {
				t.Errorf("body: got %d bytes, want %d", len(body), len(wantBody))
			}
		})
	}
}

// TestDashboardCSP checks the policy allows code and style only from the
// listener's own files, and that the page and its script have nothing the
// policy would silently block (inline code, handlers, other origins) or
// that would turn API data into markup.
func TestDashboardCSP(t *testing.T) {
	env := newDashboardEnv(t, "s3cret")
	resp, body := adminDo(t, env.admin, "GET", "/", "", "")
	directives := map[string][]string{}
	for d := range strings.SplitSeq(resp.Header.Get("Content-Security-Policy"), ";") {
		f := strings.Fields(d)
		if len(f) > 0 {
			directives[f[0]] = f[1:]
		}
	}
	tests := []struct {
		directive string
		want      []string
	}{
		{"default-src", []string{"'none'"}},
		{"script-src", []string{"'self'"}},
		{"style-src", []string{"'self'"}},
		{"connect-src", []string{"'self'"}},
		{"img-src", []string{"'self'", "data:"}},
		{"frame-src", []string{"'self'", previewShop}},
		{"base-uri", []string{"'none'"}},
		{"form-action", []string{"'none'"}},
		{"frame-ancestors", []string{"'none'"}},
	}
	for _, tt := range tests {
		if got := directives[tt.directive]; !slices.Equal(got, tt.want) {
			t.Errorf("%s: got %q, want %q", tt.directive, got, tt.want)
		}
	}
	if len(directives) != len(tests) {
		t.Errorf("policy has %d directives, want %d: %q", len(directives), len(tests), resp.Header.Get("Content-Security-Policy"))
	}
	// Every script and style sheet the page names is one of the assets.
	refs := regexp.MustCompile(`<(script src|link rel="stylesheet" href)="([^"]*)"`).FindAllSubmatch(body, -1)
	if len(refs) != 4 {
		t.Errorf("page names %d scripts and style sheets, want 4", len(refs))
	}
	for _, m := range refs {
		name, ok := strings.CutPrefix(string(m[2]), "/assets/")
		if _, known := assets[name]; !ok || !known {
			t.Errorf("page loads %q, not one of /assets/", m[2])
		}
	}
	for _, tag := range regexp.MustCompile(`(?i)<script[^>]*>`).FindAll(body, -1) {
		if !bytes.Contains(tag, []byte(` src="/assets/`)) {
			t.Errorf("script element without an asset's src: %s", tag)
		}
	}
	script := assets["console.js"].body
	blocked := []struct {
		what string
		in   []byte
		re   string
	}{
		{"inline script", body, `(?i)<script(\s[^>]*)?>[^<]`},
		{"style element", body, `(?i)<style`},
		{"inline event handler", body, `(?i)<[^>]*\son[a-z]+\s*=`},
		{"style attribute", body, `(?i)<[^>]*\sstyle\s*=`},
		{"resource of another origin", body, `(?i)(src|href|action)\s*=\s*"?(https?:)?//`},
		{"HTML parsing of strings in the script", script, `innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(|new Function|setAttribute\(\s*['"](style|on)`},
		{"request to another origin in the script", script, `fetch\(\s*['"](https?:)?//`},
	}
	for _, b := range blocked {
		if m := regexp.MustCompile(b.re).Find(b.in); m != nil {
			t.Errorf("console has a %s: %q", b.what, m)
		}
	}
	if len(body) > 16<<10 {
		t.Errorf("page is %d bytes, want under 16 KiB", len(body))
	}
	if len(script) > 128<<10 {
		t.Errorf("console.js is %d bytes, want under 128 KiB", len(script))
	}
}

func TestConsoleAssets(t *testing.T) {
	env := newDashboardEnv(t, "s3cret")
	tests := []struct {
		name, method, path, ifNoneMatch string
		status                          int
		asset                           string // the file served, "" for none
	}{
		{"script without token", "GET", "/assets/console.js", "", 200, "console.js"},
		{"style sheet", "GET", "/assets/console.css", "", 200, "console.css"},
		{"uPlot", "GET", "/assets/uPlot.iife.min.js", "", 200, "uPlot.iife.min.js"},
		{"uPlot style", "GET", "/assets/uPlot.min.css", "", 200, "uPlot.min.css"},
		{"HEAD", "HEAD", "/assets/console.js", "", 200, "console.js"},
		{"unchanged", "GET", "/assets/console.js", assets["console.js"].etag, 304, ""},
		{"changed", "GET", "/assets/console.js", `"0123"`, 200, "console.js"},
		{"unknown file", "GET", "/assets/nope.js", "", 404, ""},
		{"the page is not an asset", "GET", "/assets/index.html", "", 404, ""},
		{"nor the licence", "GET", "/assets/uPlot.LICENSE", "", 404, ""},
		{"no listing", "GET", "/assets/", "", 404, ""},
		{"no writes", "PUT", "/assets/console.js", "", 405, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, env.admin.URL+tt.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			if tt.ifNoneMatch != "" {
				req.Header.Set("If-None-Match", tt.ifNoneMatch)
			}
			resp, err := env.admin.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d; body %.200q", resp.StatusCode, tt.status, body)
			}
			if tt.status == 304 && (len(body) != 0 || resp.Header.Get("ETag") != tt.ifNoneMatch) {
				t.Errorf("304 with %d bytes, ETag %q", len(body), resp.Header.Get("ETag"))
			}
			if tt.asset == "" {
				return
			}
			a := assets[tt.asset]
			want := map[string]string{
				"ETag":                   a.etag,
				"Cache-Control":          "no-cache",
				"X-Content-Type-Options": "nosniff",
				"Content-Length":         strconv.Itoa(len(a.body)),
			}
			if strings.HasSuffix(tt.asset, ".js") {
				want["Content-Type"] = "text/javascript; charset=utf-8"
			} else {
				want["Content-Type"] = "text/css; charset=utf-8"
			}
			for k, v := range want {
				if got := resp.Header.Get(k); got != v {
					t.Errorf("%s: got %q, want %q", k, got, v)
				}
			}
			wantBody := a.body
			if tt.method == "HEAD" {
				wantBody = nil
			}
			if !bytes.Equal(body, wantBody) {
				t.Errorf("body: %d bytes, want %d", len(body), len(wantBody))
			}
		})
	}
	// Distinct files, distinct validators.
	seen := map[string]string{}
	for name, a := range assets {
		if other, dup := seen[a.etag]; dup {
			t.Errorf("%s and %s share ETag %s", name, other, a.etag)
		}
		seen[a.etag] = name
	}
}

func TestPreviewOrigin(t *testing.T) {
	tests := []struct {
		in, want string
		err      bool
	}{
		{"", "", false},
		{"http://shop.example:8080/", "http://shop.example:8080", false},
		{"https://shop.example/some/page?x=1", "https://shop.example", false},
		{"ftp://shop.example/", "", true},
		{"shop.example", "", true},
		{"//shop.example/", "", true},
		{"http://user:pw@shop.example/", "", true},
		{"http://shop example/", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := previewOrigin(tt.in)
			if (err != nil) != tt.err || got != tt.want {
				t.Errorf("previewOrigin(%q) = %q, %v; want %q, error %v", tt.in, got, err, tt.want, tt.err)
			}
		})
	}
	env := newDashboardEnv(t, "")
	if _, err := New(Options{Store: env.store, PreviewURL: "javascript:alert(1)"}); err == nil {
		t.Error("New accepted a javascript: preview URL")
	}
}
