package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/marquee-proxy/marquee/personalize"

	"github.com/marquee-proxy/marquee/config"
)

// Options configures a bench run. The zero value of each field but Binary
// (or Against) has a usable default, named per field.
type Options struct {
	// Binary is the marquee executable run as the proxy under test
	// ("serve -config" and "serve -passthrough -config"). Required unless
	// Against is set.
	Binary string
	// Page is the HTML page the origin serves. Nil means ListingPage.
	Page []byte
	// PageName labels the page in the report. Empty means "listing-61k.html"
	// for the default page, else "page".
	PageName string
	// GzipOrigin makes the origin answer gzip-encoded, and the load
	// generator ask for gzip.
	GzipOrigin bool
	// Nonce makes the origin change a token in the page on every response.
	Nonce bool
	// Duration is each measurement window. Zero means 10 s.
	Duration time.Duration
	// Rounds splits each target's Duration into this many slices, taken in
	// turn with the other targets' (ABBA order), so that drift in the
	// machine's background load affects all alike. Zero means 3.
	Rounds int
	// Warmup precedes each slice, with the same load, and is not counted.
	// Zero means a fifth of a slice, at most 1 s; negative means none.
	Warmup time.Duration
	// Connections is the number of concurrent client connections. Zero
	// means 32.
	Connections int
	// Profiles is the number of generated visitor profiles stored in the
	// proxy, and of visitors the load generator plays. Zero means 10,000.
	Profiles int
	// ZipfS is the exponent of the visitors' Zipf distribution. Zero means
	// DefaultZipfS.
	ZipfS float64
	// RateFraction sets the open-loop phase's fixed rate as a fraction of
	// passthrough's closed-loop maximum. Zero means 0.5; negative skips the
	// open-loop phase.
	RateFraction float64
	// Against, when set, loads this already running proxy (a URL) instead
	// of starting one; only throughput and latency are measured.
	Against string
	// CookieKey is the base64 cookie-signing key of the proxy named by
	// Against, to send valid visitor cookies; empty sends none.
	CookieKey string
	// CookieName is the visitor cookie's name. Empty means "mq_vid".
	CookieName string
	// Compare names other proxies to measure in front of the same origin;
	// only "nginx" is known.
	Compare []string
	// Cache adds the same two marquee servers with the edge cache on
	// (CacheSection), and with Compare nginx, nginx with proxy_cache alone
	// and with sub_filter. The origin then lets shared caches keep the page
	// for CacheMaxAge, so that every cached request after the first is a
	// hit. Not with Nonce (the page would change on every response, and
	// the origin forbids storing it) nor Against.
	Cache bool
	// Progress receives progress lines while the bench runs. Nil discards.
	Progress io.Writer
}

// ErrUnknownCompare is returned for a Compare entry other than "nginx".
var ErrUnknownCompare = errors.New("bench: unknown comparison; only nginx is known")

// ErrCacheOptions is returned for Cache with Nonce or Against.
var ErrCacheOptions = errors.New("bench: the cache bench needs its own proxies and a page that may be stored: not with nonce or against")

// CacheMaxAge is the freshness the origin gives the page under
// Options.Cache: longer than any run, so that no entry expires during one.
const CacheMaxAge = 24 * time.Hour

// The servers a run measures, as Result.Name reports them.
const (
	NamePassthrough         = "passthrough"
	NamePersonalized        = "personalized"
	NameCachedPassthrough   = "cached-passthrough"
	NameCachedPersonalized  = "cached-personalized"
	NameNginxProxy          = "nginx-proxy"
	NameNginxSubFilter      = "nginx-sub_filter"
	NameNginxCache          = "nginx-cache"
	NameNginxCacheSubFilter = "nginx-cache-sub_filter"
	NameTarget              = "target"
)

// requestPath is the path every request asks for; the origin serves the
// page at any path.
const requestPath = "/listing"

func (o *Options) withDefaults() Options {
	c := *o
	if c.Page == nil {
		c.Page = ListingPage
		if c.PageName == "" {
			c.PageName = "listing-61k.html"
		}
	}
	if c.PageName == "" {
		c.PageName = "page"
	}
	if c.Duration <= 0 {
		c.Duration = 10 * time.Second
	}
	if c.Rounds <= 0 {
		c.Rounds = 3
	}
	if c.Warmup == 0 {
		c.Warmup = min(c.Duration/time.Duration(c.Rounds)/5, time.Second).Round(time.Millisecond)
	}
	c.Warmup = max(c.Warmup, 0)
	if c.Connections <= 0 {
		c.Connections = 32
	}
	if c.Profiles <= 0 {
		c.Profiles = 10000
	}
	if c.ZipfS == 0 {
		c.ZipfS = DefaultZipfS
	}
	if c.RateFraction == 0 {
		c.RateFraction = 0.5
	}
	if c.CookieName == "" {
		c.CookieName = "mq_vid"
	}
	if c.Progress == nil {
		c.Progress = io.Discard
	}
	return c
}

// runner holds what one Run has started.
type runner struct {
	opts    Options
	origin  *Origin
	slots   []Slot
	cookies []string
	http    *http.Client
	accept  string
}

// childSpec is one marquee process a run starts.
type childSpec struct {
	name                string
	passthrough, cached bool
}

// target is one server the bench loads.
type target struct {
	name    string
	url     string
	pid     int    // 0: CPU not measured
	tree    bool   // add the CPU of pid's children (nginx workers)
	metrics string // admin /metrics URL; "" when not a marquee child
	cached  bool   // answers from a cache: count its hits
}

// Run starts the origin, the proxy under test (twice: passthrough and
// personalising; four times with Options.Cache, the same two with the edge
// cache) and any comparison, loads each in turn and returns the report.
// The open-loop phase loads the marquee servers only. It stops everything
// it started before returning.
func Run(ctx context.Context, opts Options) (*Report, error) {
	o := opts.withDefaults()
	for _, c := range o.Compare {
		if c != "nginx" {
			return nil, fmt.Errorf("%w: %q", ErrUnknownCompare, c)
		}
	}
	if o.Cache && (o.Nonce || o.Against != "") {
		return nil, ErrCacheOptions
	}
	if o.Against == "" && o.Binary == "" {
		return nil, errors.New("bench: no marquee binary to run")
	}
	r := &runner{opts: o, http: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 16}}}
	defer r.http.CloseIdleConnections()
	if o.GzipOrigin {
		r.accept = "gzip"
	}
	rep := newReport(o)
	if o.Against != "" {
		return r.runAgainst(ctx, rep)
	}

	slots, err := PageSlots(o.Page)
	if err != nil {
		return nil, err
	}
	r.slots = slots
	rep.Settings.Page = pageLabel(o.PageName, o.Page, slots)
	oo := OriginOptions{Page: o.Page, Gzip: o.GzipOrigin, Nonce: o.Nonce}
	if o.Cache {
		oo.MaxAge = CacheMaxAge
	}
	if r.origin, err = StartOrigin(oo); err != nil {
		return nil, err
	}
	defer r.origin.Close()

	key, err := config.NewKey()
	if err != nil {
		return nil, err
	}
	cfgText := ProxyConfig(r.origin.URL(), key, SlotNames(slots))
	cfg, err := config.Parse("bench.yaml", []byte(cfgText))
	if err != nil {
		return nil, fmt.Errorf("bench: generated config: %w", err)
	}
	keys, err := cfg.SigningKeys()
	if err != nil {
		return nil, err
	}
	signer, err := personalize.NewSigner(keys)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "marquee-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)

	children := []childSpec{{NamePassthrough, true, false}, {NamePersonalized, false, false}}
	if o.Cache {
		children = append(children, childSpec{NameCachedPassthrough, true, true}, childSpec{NameCachedPersonalized, false, true})
	}
	r.progressf("starting the origin (%s) and %d marquee processes", rep.Settings.Page, len(children))
	var targets []target
	var personalizing []*Child
	for _, ch := range children {
		text := cfgText
		if ch.cached {
			text += CacheSection
		}
		c, err := StartChild(ctx, o.Binary, dir, ch.name, text, ch.passthrough)
		if err != nil {
			return nil, err
		}
		defer c.Close()
		if !ch.passthrough {
			personalizing = append(personalizing, c)
		}
		targets = append(targets, target{name: ch.name, url: c.ProxyURL, pid: c.PID(), metrics: c.AdminURL + "/metrics", cached: ch.cached})
	}

	r.progressf("storing %d visitor profiles", o.Profiles)
	ids := make([]string, o.Profiles)
	r.cookies = make([]string, o.Profiles)
	for i := range ids {
		ids[i] = NewVisitorID()
		if r.cookies[i], err = signer.Sign(ids[i]); err != nil {
			return nil, err
		}
	}
	for _, c := range personalizing {
		if err := r.putProfiles(ctx, c.AdminURL, ids); err != nil {
			return nil, err
		}
		if err := r.checkPersonalized(ctx, c.ProxyURL); err != nil {
			return nil, err
		}
	}

	var ngx []target
	if len(o.Compare) > 0 {
		if bin, err := exec.LookPath("nginx"); err != nil {
			rep.Notes = append(rep.Notes, "nginx is not installed (not on PATH): its comparison was skipped")
			r.progressf("nginx not found on PATH; skipping the nginx comparison")
		} else {
			ndir, err := os.MkdirTemp(dir, "nginx-")
			if err != nil {
				return nil, err
			}
			var fallbacks []string
			for _, s := range slots {
				fallbacks = append(fallbacks, s.Fallback)
			}
			n, err := StartNginx(ctx, bin, ndir, r.origin.Addr(), fallbacks, o.Cache)
			if err != nil {
				return nil, err
			}
			defer n.Close()
			rep.Settings.Nginx = nginxVersion(bin)
			ngx = []target{
				{name: NameNginxProxy, url: n.ProxyURL, pid: n.PID(), tree: true},
				{name: NameNginxSubFilter, url: n.SubFilterURL, pid: n.PID(), tree: true},
			}
			if o.Cache {
				ngx = append(ngx,
					target{name: NameNginxCache, url: n.CacheURL, pid: n.PID(), tree: true, cached: true},
					target{name: NameNginxCacheSubFilter, url: n.CacheSubFilterURL, pid: n.PID(), tree: true, cached: true})
			}
			for _, t := range ngx {
				if !strings.HasSuffix(t.name, "sub_filter") {
					continue
				}
				if got := r.countSubstitutions(t.url); got != len(slots) {
					rep.Notes = append(rep.Notes, fmt.Sprintf("%s substituted %d of %d slots", t.name, got, len(slots)))
				}
			}
		}
	}
	all := slices.Concat(targets, ngx)
	for _, t := range all {
		if t.cached {
			if err := r.warmCache(ctx, t); err != nil {
				return nil, err
			}
		}
	}

	rs, err := r.measureRounds(ctx, all, 0)
	if err != nil {
		return nil, err
	}
	rep.Results = rs
	if o.RateFraction > 0 && rs[0].RPS > 0 {
		rate := math.Round(rs[0].RPS * o.RateFraction)
		rep.Settings.OpenLoopRate = rate
		if rep.OpenLoop, err = r.measureRounds(ctx, targets, rate); err != nil {
			return nil, err
		}
	}
	rep.summarize()
	return rep, nil
}

// runAgainst loads an already running proxy: throughput and latency only.
func (r *runner) runAgainst(ctx context.Context, rep *Report) (*Report, error) {
	o := r.opts
	rep.Settings.Page = "served by " + o.Against
	if o.CookieKey != "" {
		key, err := config.DecodeKey(o.CookieKey)
		if err != nil {
			return nil, fmt.Errorf("bench: -cookie-key: %w", err)
		}
		signer, err := personalize.NewSigner([][]byte{key})
		if err != nil {
			return nil, err
		}
		r.cookies = make([]string, o.Profiles)
		for i := range r.cookies {
			if r.cookies[i], err = signer.Sign(NewVisitorID()); err != nil {
				return nil, err
			}
		}
	} else {
		rep.Notes = append(rep.Notes, "no -cookie-key: requests carry no visitor cookie, so each is a first visit")
	}
	rep.Notes = append(rep.Notes, "-against: the proxy's CPU and allocations are not measured")
	rs, err := r.measureRounds(ctx, []target{{name: NameTarget, url: strings.TrimSuffix(o.Against, "/")}}, 0)
	if err != nil {
		return nil, err
	}
	rep.Results = rs
	return rep, nil
}

// warmCache asks t for the page, as the load generator does, until its
// cache answers: a cached server measured before its first hit would
// measure a miss.
func (r *runner) warmCache(ctx context.Context, t target) error {
	lo := LoadOptions{URL: t.url + requestPath, Connections: 1, Duration: 5 * time.Second, MaxRequests: 1,
		CookieName: r.opts.CookieName, Cookies: r.cookies, ZipfS: r.opts.ZipfS, AcceptEncoding: r.accept}
	for range 50 {
		lr, err := Load(ctx, lo)
		if err != nil {
			return err
		}
		if lr.Hits > 0 {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("bench: %s answered no request from its cache (no X-Cache: HIT in 50 requests)", t.name)
}

// sample is what one measurement slice of one target measured.
type sample struct {
	load       LoadResult
	cpu, self  CPUTime       // server's and the bench process's CPU time
	other      time.Duration // CPU time of every other process
	cpuOK      bool
	mallocs    float64
	outcomes   map[string]float64
	hasMetrics bool
}

func (r *runner) progressf(format string, args ...any) {
	fmt.Fprintf(r.opts.Progress, "bench: "+format+"\n", args...)
}

func nginxVersion(bin string) string {
	out, err := exec.Command(bin, "-v").CombinedOutput()
	if err != nil {
		return "nginx"
	}
	_, v, _ := strings.Cut(strings.TrimSpace(string(out)), "version: ")
	return v
}

// machine describes where the bench ran.
func machine() Machine {
	return Machine{GOOS: runtime.GOOS, GOARCH: runtime.GOARCH, CPUs: runtime.NumCPU(), GoVersion: runtime.Version()}
}
