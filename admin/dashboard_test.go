package admin

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/marquee-proxy/marquee/cache"
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
}

func newDashboardEnv(t *testing.T, token string) *dashboardEnv {
	t.Helper()
	rec := stats.NewRecorder(stats.Config{})
	env := personalizetest.Start(t, dashboardConfig, slotPage, personalize.Options{Recorder: rec})
	// Pages go through a proxy with the edge cache on, so the dashboard
	// shows its hit ratio.
	srv, p := env.StartProxy(t, proxy.Options{Cache: &cache.Options{MaxSize: 8 << 20}})
	st, pers := env.Store, env.Pers
	h, err := New(Options{
		Token:        token,
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
	return &dashboardEnv{admin: adm, proxy: p, store: st, rec: rec}
}

// browse sends n page views of new visitors through the proxy, so that
// outcomes, rewrite latencies and exposures are real. They ask for four
// pages in turn: the first view of each is a cache miss, the rest hits.
func (e *dashboardEnv) browse(t *testing.T, n int) {
	t.Helper()
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
				"Content-Security-Policy": dashboardCSP,
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

// TestDashboardCSP recomputes the hashes of the inline code as served and
// checks the policy allows exactly those, and that the page has no code
// the policy would silently block (attributes, handlers, other origins).
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
	hashes := func(tag string) []string {
		var out []string
		for _, m := range regexp.MustCompile(`(?s)<`+tag+`>(.*?)</`+tag+`>`).FindAllSubmatch(body, -1) {
			sum := sha256.Sum256(m[1])
			out = append(out, "'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"'")
		}
		return out
	}
	tests := []struct {
		directive string
		want      []string
	}{
		{"default-src", []string{"'none'"}},
		{"script-src", hashes("script")},
		{"style-src", hashes("style")},
		{"connect-src", []string{"'self'"}},
		{"img-src", []string{"'self'", "data:"}},
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
	if len(directives["script-src"]) != 1 || len(directives["style-src"]) != 1 {
		t.Errorf("want one inline script and one inline style, got %q and %q", directives["script-src"], directives["style-src"])
	}
	// Markup checks look at the page without the inline code, where they
	// would match comparisons and strings.
	markup := regexp.MustCompile(`(?s)<(script|style)>.*?</(script|style)>`).ReplaceAll(body, nil)
	blocked := []struct {
		what string
		in   []byte
		re   string
	}{
		{"script or style element with attributes", markup, `(?i)<(script|style)\s`},
		{"inline event handler", markup, `(?i)<[^>]*\son[a-z]+\s*=`},
		{"style attribute", markup, `(?i)<[^>]*\sstyle\s*=`},
		{"resource of another origin", markup, `(?i)(src|href|action)\s*=\s*"?(https?:)?//`},
		{"HTML parsing of strings in the script", body, `innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(`},
		{"request to another origin in the script", body, `fetch\(\s*['"](https?:)?//`},
	}
	for _, b := range blocked {
		if m := regexp.MustCompile(b.re).Find(b.in); m != nil {
			t.Errorf("page has a %s: %q", b.what, m)
		}
	}
	if len(body) > 40<<10 {
		t.Errorf("page is %d bytes, want under 40 KiB", len(body))
	}
}

func TestInlineHashes(t *testing.T) {
	hash := func(s string) string {
		sum := sha256.Sum256([]byte(s))
		return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
	}
	tests := []struct {
		name, page, want string
	}{
		{"none", `<p>no code</p>`, "'none'"},
		{"one", `<script>a()</script>`, hash("a()")},
		{"two, whitespace kept", "<script>a()</script><p><script>\nb()\n</script>", hash("a()") + " " + hash("\nb()\n")},
		{"unterminated is not hashed", `<script>a()</script><script>b()`, hash("a()")},
		{"empty", `<script></script>`, hash("")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := inlineHashes([]byte(tt.page), "<script>", "</script>"); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}
