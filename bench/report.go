package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"
	"time"
)

// Report is the outcome of a bench run. Its JSON form is what
// "marquee bench -json" prints.
type Report struct {
	// PassthroughRPS and PersonalizedRPS are the closed-loop maximum
	// requests per second of the same proxy without and with its rewrite
	// stage.
	PassthroughRPS  float64 `json:"passthrough_rps"`
	PersonalizedRPS float64 `json:"personalized_rps"`
	// Ratio is PersonalizedRPS over PassthroughRPS.
	Ratio float64 `json:"ratio"`
	// CPURatio is the personalising proxy's CPU time per request over the
	// passthrough proxy's, closed loop.
	CPURatio float64 `json:"cpu_ratio"`
	// P99AddedUS is personalised p99 latency minus passthrough p99 latency,
	// in microseconds, both at the same fixed (open-loop) request rate. Nil
	// (absent from the JSON) without an open-loop phase or when it did not
	// hold its rate: a server below 95% of it, or more than
	// maxLateShare of the requests sent late, make the difference
	// queueing in the server or the generator, not the cost of
	// personalisation; a note says which.
	P99AddedUS *float64 `json:"p99_added_us,omitempty"`
	// SubFilterCPURatio is the personalising proxy's CPU per request over
	// nginx sub_filter's, when nginx was compared.
	SubFilterCPURatio float64 `json:"sub_filter_cpu_ratio,omitempty"`

	// With Options.Cache: the cached personalising proxy's share of
	// responses answered from its cache (X-Cache: HIT), its requests/s and
	// CPU µs per request, and the same for the cached passthrough proxy.
	CacheHitRatio          float64 `json:"cache_hit_ratio,omitempty"`
	CachedRPS              float64 `json:"cached_rps,omitempty"`
	CachedCPUUS            float64 `json:"cached_cpu_us,omitempty"`
	CachedPassthroughRPS   float64 `json:"cached_passthrough_rps,omitempty"`
	CachedPassthroughCPUUS float64 `json:"cached_passthrough_cpu_us,omitempty"`
	// CachedVsPassthroughRPSRatio and CachedVsPassthroughCPURatio are the
	// cached personalising proxy's requests/s and CPU per request over the
	// uncached passthrough proxy's.
	CachedVsPassthroughRPSRatio float64 `json:"cached_vs_passthrough_rps_ratio,omitempty"`
	CachedVsPassthroughCPURatio float64 `json:"cached_vs_passthrough_cpu_ratio,omitempty"`
	// With Options.Cache and nginx compared: nginx proxy_cache alone and
	// with sub_filter, requests/s and CPU µs per request; the lower of the
	// two servers' cache hit ratios; and the cached personalising proxy's
	// CPU per request and requests/s over theirs.
	NginxCacheRPS                       float64 `json:"nginx_cache_rps,omitempty"`
	NginxCacheCPUUS                     float64 `json:"nginx_cache_cpu_us,omitempty"`
	NginxCacheSubFilterRPS              float64 `json:"nginx_cache_sub_filter_rps,omitempty"`
	NginxCacheSubFilterCPUUS            float64 `json:"nginx_cache_sub_filter_cpu_us,omitempty"`
	NginxCacheHitRatio                  float64 `json:"nginx_cache_hit_ratio,omitempty"`
	CachedVsNginxCacheCPURatio          float64 `json:"cached_vs_nginx_cache_cpu_ratio,omitempty"`
	CachedVsNginxCacheRPSRatio          float64 `json:"cached_vs_nginx_cache_rps_ratio,omitempty"`
	CachedVsNginxCacheSubFilterCPURatio float64 `json:"cached_vs_nginx_cache_sub_filter_cpu_ratio,omitempty"`
	CachedVsNginxCacheSubFilterRPSRatio float64 `json:"cached_vs_nginx_cache_sub_filter_rps_ratio,omitempty"`

	// Machine and Settings say where and how the figures were taken.
	Machine  Machine  `json:"machine"`
	Settings Settings `json:"settings"`
	// Results are the closed-loop (maximum throughput) measurements.
	Results []Result `json:"results"`
	// OpenLoop are the fixed-rate measurements behind P99AddedUS.
	OpenLoop []Result `json:"open_loop,omitempty"`
	// Notes are caveats a reader of the figures needs.
	Notes []string `json:"notes"`
}

// Machine describes the machine and build the bench ran on.
type Machine struct {
	// GOOS and GOARCH are the bench binary's target.
	GOOS   string `json:"goos"`
	GOARCH string `json:"goarch"`
	// CPUs is the number of logical CPUs, shared by every process.
	CPUs int `json:"cpus"`
	// GoVersion is the Go release the bench was built with.
	GoVersion string `json:"go_version"`
}

// Settings are the bench's parameters as used.
type Settings struct {
	// Page describes the page served: name, size and slots.
	Page string `json:"page"`
	// GzipOrigin and Nonce are the origin simulator's options.
	GzipOrigin bool `json:"gzip_origin"`
	Nonce      bool `json:"nonce"`
	// Cache says whether the cached servers were measured too.
	Cache bool `json:"cache"`
	// Duration is the measured time per server and mode, split into
	// Rounds slices, each after a Warmup.
	Duration string `json:"duration"`
	Warmup   string `json:"warmup"`
	Rounds   int    `json:"rounds"`
	// Connections is the number of concurrent client connections.
	Connections int `json:"connections"`
	// Profiles is the number of visitors played and stored.
	Profiles int `json:"profiles"`
	// ZipfS is the Zipf exponent of visitor popularity.
	ZipfS float64 `json:"zipf_s"`
	// OpenLoopRate is the fixed rate of the open-loop phase, requests/s.
	OpenLoopRate float64 `json:"open_loop_rps,omitempty"`
	// Against is the URL of the already running proxy loaded, if any.
	Against string `json:"against,omitempty"`
	// Nginx is the version of the nginx compared, if any.
	Nginx string `json:"nginx,omitempty"`
}

// Result is one measurement window against one server.
type Result struct {
	// Name is one of the Name constants: passthrough, personalized,
	// cached-passthrough, cached-personalized, nginx-proxy,
	// nginx-sub_filter, nginx-cache, nginx-cache-sub_filter, or target
	// (-against).
	Name string `json:"name"`
	// Mode is "closed" (as fast as it answers) or "open N/s" (fixed rate).
	Mode string `json:"mode"`
	// Requests completed; Errors among them or without a response (not
	// 200, connection errors).
	Requests uint64 `json:"requests"`
	Errors   uint64 `json:"errors"`
	// Seconds measured (warm-ups excluded) and completed requests per
	// second over them.
	Seconds float64 `json:"seconds"`
	RPS     float64 `json:"rps"`
	// Latencies in microseconds, from sending a request to having read
	// the whole response.
	P50US  float64 `json:"p50_us"`
	P90US  float64 `json:"p90_us"`
	P99US  float64 `json:"p99_us"`
	P999US float64 `json:"p999_us"`
	MaxUS  float64 `json:"max_us"`
	// BytesPerSec is response body bytes received per second.
	BytesPerSec float64 `json:"bytes_per_sec"`
	// CPUPerReqUS is the server process's user+system CPU time per
	// request in microseconds (nginx: master and workers), 0 when not
	// measured.
	CPUPerReqUS float64 `json:"cpu_us_per_req,omitempty"`
	// SysPerReqUS is the part of CPUPerReqUS spent in the kernel on the
	// server's behalf: socket reads and writes, wake-ups. It grows with the
	// bytes moved and with the number of system calls a server makes to
	// move them, so it shows how much of a server's cost is its own code.
	SysPerReqUS float64 `json:"sys_us_per_req,omitempty"`
	// CPUCores is that CPU time over the window's wall time.
	CPUCores float64 `json:"cpu_cores,omitempty"`
	// OtherCPUCores is the CPU time of every other process on the machine
	// (neither the server nor the bench) over the window's wall time:
	// background load that makes the figures noisier.
	OtherCPUCores float64 `json:"other_cpu_cores,omitempty"`
	// AllocsPerReq is heap allocations per request in a marquee process.
	AllocsPerReq float64 `json:"allocs_per_req,omitempty"`
	// CacheHitRatio is the share of responses a cached server answered
	// from its cache (X-Cache: HIT); absent for servers without a cache.
	CacheHitRatio float64 `json:"cache_hit_ratio,omitempty"`
	// RewrittenShare is the fraction of responses a marquee process
	// personalised (the rest had no matching campaign).
	RewrittenShare float64 `json:"rewritten_share,omitempty"`
	// BenchCPUPerReqUS is the bench process's own CPU per request (load
	// generator and origin simulator), which shared the machine.
	BenchCPUPerReqUS float64 `json:"bench_cpu_us_per_req,omitempty"`
	// Late counts open-loop requests sent over 1 ms behind schedule.
	Late uint64 `json:"late,omitempty"`
}

func newReport(o Options) *Report {
	return &Report{
		Machine: machine(),
		Settings: Settings{
			GzipOrigin:  o.GzipOrigin,
			Nonce:       o.Nonce,
			Cache:       o.Cache,
			Duration:    o.Duration.String(),
			Warmup:      o.Warmup.String(),
			Rounds:      o.Rounds,
			Connections: o.Connections,
			Profiles:    o.Profiles,
			ZipfS:       o.ZipfS,
			Against:     o.Against,
		},
		Notes: []string{
			"the load generator and origin simulator run on the same machine as the proxy and compete with it for CPU, so requests/s understate what the proxy alone could do; proxy CPU per request (read from /proc of the proxy's own process) is the figure to compare",
		},
	}
}

func us(d time.Duration) float64 { return math.Round(float64(d)/float64(time.Microsecond)*10) / 10 }

func newResult(name, mode string, lr *LoadResult) Result {
	h := &lr.Latency
	r := Result{
		Name:     name,
		Mode:     mode,
		Requests: lr.Requests,
		Errors:   lr.Errors,
		Seconds:  math.Round(lr.Elapsed.Seconds()*1000) / 1000,
		RPS:      math.Round(lr.RPS()*10) / 10,
		P50US:    us(h.Quantile(0.50)),
		P90US:    us(h.Quantile(0.90)),
		P99US:    us(h.Quantile(0.99)),
		P999US:   us(h.Quantile(0.999)),
		MaxUS:    us(h.Max()),
		Late:     lr.Late,
	}
	if lr.Elapsed > 0 {
		r.BytesPerSec = math.Round(float64(lr.Bytes) / lr.Elapsed.Seconds())
	}
	return r
}

func find(rs []Result, name string) *Result {
	for i := range rs {
		if rs[i].Name == name {
			return &rs[i]
		}
	}
	return nil
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return math.Round(a/b*1000) / 1000
}

// maxLateShare is the share of open-loop requests that may leave late
// (over 1 ms behind schedule) for the added p99 latency to be reported: a
// tenth of the 1% of requests p99 is about.
const maxLateShare = 0.001

// summarize fills the headline figures from the results.
func (r *Report) summarize() {
	pass, pers := find(r.Results, NamePassthrough), find(r.Results, NamePersonalized)
	if pass != nil && pers != nil {
		r.PassthroughRPS, r.PersonalizedRPS = pass.RPS, pers.RPS
		r.Ratio = ratio(pers.RPS, pass.RPS)
		r.CPURatio = ratio(pers.CPUPerReqUS, pass.CPUPerReqUS)
		if sf := find(r.Results, NameNginxSubFilter); sf != nil {
			r.SubFilterCPURatio = ratio(pers.CPUPerReqUS, sf.CPUPerReqUS)
		}
	}
	r.summarizeCache()
	opass, opers := find(r.OpenLoop, NamePassthrough), find(r.OpenLoop, NamePersonalized)
	if opass != nil && opers != nil {
		held := true
		for _, x := range []*Result{opass, opers} {
			if x.RPS < 0.95*r.Settings.OpenLoopRate {
				held = false
				r.Notes = append(r.Notes, fmt.Sprintf("open loop: %s reached %.0f of %.0f req/s: it cannot sustain the rate, so its latency there is queueing; the added p99 latency is not reported", x.Name, x.RPS, r.Settings.OpenLoopRate))
			}
		}
		// Latency is timed from the actual send: requests the generator
		// sent late never count the time they waited for it, so too many
		// of them hide exactly the tail p99 is about.
		late, sent := opass.Late+opers.Late, opass.Requests+opers.Requests+opass.Errors+opers.Errors
		switch {
		case late > 0 && float64(late) > maxLateShare*float64(sent):
			held = false
			r.Notes = append(r.Notes, fmt.Sprintf("open loop: %d of %d requests left over 1 ms behind schedule: the generator could not hold the rate, so the added p99 latency is not reported", late, sent))
		case late > 0:
			r.Notes = append(r.Notes, fmt.Sprintf("open loop: %d of %d requests left over 1 ms behind schedule, too few to move p99", late, sent))
		}
		if held {
			added := math.Round((opers.P99US-opass.P99US)*10) / 10
			r.P99AddedUS = &added
		}
	}
	var other float64
	for _, res := range append(append([]Result(nil), r.Results...), r.OpenLoop...) {
		other = max(other, res.OtherCPUCores)
		if res.Errors > 0 {
			r.Notes = append(r.Notes, fmt.Sprintf("%s (%s): %d errors", res.Name, res.Mode, res.Errors))
		}
	}
	if other >= 0.2 {
		r.Notes = append(r.Notes, fmt.Sprintf("other processes used up to %.2f CPUs during the windows (other_cpu_cores): the machine was not quiet, expect noise", other))
	}
}

// summarizeCache fills the cached servers' headline figures, and notes a
// cached server that answered any request without its cache.
func (r *Report) summarizeCache() {
	for _, x := range r.Results {
		if x.Requests > 0 && isCached(x.Name) && x.CacheHitRatio < 0.99 {
			r.Notes = append(r.Notes, fmt.Sprintf("%s: %.1f%% of responses were cache hits; its figures include the misses", x.Name, x.CacheHitRatio*100))
		}
	}
	cp := find(r.Results, NameCachedPassthrough)
	if cp != nil {
		r.CachedPassthroughRPS, r.CachedPassthroughCPUUS = cp.RPS, cp.CPUPerReqUS
	}
	c := find(r.Results, NameCachedPersonalized)
	if c == nil {
		return
	}
	r.CacheHitRatio, r.CachedRPS, r.CachedCPUUS = c.CacheHitRatio, c.RPS, c.CPUPerReqUS
	if pass := find(r.Results, NamePassthrough); pass != nil {
		r.CachedVsPassthroughRPSRatio = ratio(c.RPS, pass.RPS)
		r.CachedVsPassthroughCPURatio = ratio(c.CPUPerReqUS, pass.CPUPerReqUS)
	}
	nc, ns := find(r.Results, NameNginxCache), find(r.Results, NameNginxCacheSubFilter)
	if nc != nil {
		r.NginxCacheRPS, r.NginxCacheCPUUS = nc.RPS, nc.CPUPerReqUS
		r.CachedVsNginxCacheCPURatio = ratio(c.CPUPerReqUS, nc.CPUPerReqUS)
		r.CachedVsNginxCacheRPSRatio = ratio(c.RPS, nc.RPS)
		r.NginxCacheHitRatio = nc.CacheHitRatio
	}
	if ns != nil {
		r.NginxCacheSubFilterRPS, r.NginxCacheSubFilterCPUUS = ns.RPS, ns.CPUPerReqUS
		r.CachedVsNginxCacheSubFilterCPURatio = ratio(c.CPUPerReqUS, ns.CPUPerReqUS)
		r.CachedVsNginxCacheSubFilterRPSRatio = ratio(c.RPS, ns.RPS)
		if nc == nil || ns.CacheHitRatio < r.NginxCacheHitRatio {
			r.NginxCacheHitRatio = ns.CacheHitRatio
		}
	}
}

// isCached reports whether the server named name answers from a cache.
func isCached(name string) bool {
	switch name {
	case NameCachedPassthrough, NameCachedPersonalized, NameNginxCache, NameNginxCacheSubFilter:
		return true
	}
	return false
}

// WriteJSON writes r as one indented JSON object.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteText writes r for people: the ratios first, then the settings and
// the table they come from, then the notes.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	s := r.Settings
	fmt.Fprintf(&b, "marquee bench: %s/%s, %d CPUs, %s\n\n", r.Machine.GOOS, r.Machine.GOARCH, r.Machine.CPUs, r.Machine.GoVersion)
	if r.writeRatios(&b) {
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "page %s; gzip origin %v; nonce %v; cache %v\n", s.Page, s.GzipOrigin, s.Nonce, s.Cache)
	fmt.Fprintf(&b, "%d connections, %s per server in %d alternating rounds, %s warm-up before each, %d visitors (Zipf s=%g)", s.Connections, s.Duration, s.Rounds, s.Warmup, s.Profiles, s.ZipfS)
	if s.Nginx != "" {
		fmt.Fprintf(&b, ", nginx %s", s.Nginx)
	}
	b.WriteString("\n\n")
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "server\tmode\treq/s\tp50 µs\tp90 µs\tp99 µs\tp99.9 µs\tMB/s\tCPU µs/req\tof it sys\tCPUs\tothers\tallocs/req\tpersonalised\tcache hits\terrors\t\n")
	row := func(x Result) {
		opt := func(v float64, f string) string {
			if v == 0 {
				return "-"
			}
			return fmt.Sprintf(f, v)
		}
		share := "-"
		if x.RewrittenShare > 0 || x.Name == NamePersonalized || x.Name == NameCachedPersonalized {
			share = fmt.Sprintf("%.0f%%", x.RewrittenShare*100)
		}
		hits := "-"
		if isCached(x.Name) {
			hits = fmt.Sprintf("%.1f%%", x.CacheHitRatio*100)
		}
		fmt.Fprintf(tw, "%s\t%s\t%.0f\t%.0f\t%.0f\t%.0f\t%.0f\t%.1f\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t\n",
			x.Name, x.Mode, x.RPS, x.P50US, x.P90US, x.P99US, x.P999US, x.BytesPerSec/1e6,
			opt(x.CPUPerReqUS, "%.1f"), opt(x.SysPerReqUS, "%.1f"), opt(x.CPUCores, "%.2f"), opt(x.OtherCPUCores, "%.2f"), opt(x.AllocsPerReq, "%.1f"), share, hits, x.Errors)
	}
	for _, x := range r.Results {
		row(x)
	}
	for _, x := range r.OpenLoop {
		row(x)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(r.Notes) > 0 {
		b.WriteString("\n")
		for _, n := range r.Notes {
			fmt.Fprintf(&b, "note: %s\n", n)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// writeRatios writes the headline ratios, one line each, and reports
// whether there were any.
func (r *Report) writeRatios(b *strings.Builder) bool {
	start := b.Len()
	if r.PassthroughRPS > 0 {
		fmt.Fprintf(b, "personalised / passthrough: %.3f× requests/s, %.3f× proxy CPU per request", r.Ratio, r.CPURatio)
		if r.SubFilterCPURatio > 0 {
			fmt.Fprintf(b, ", %.3f× nginx sub_filter's CPU per request", r.SubFilterCPURatio)
		}
		b.WriteString("\n")
		switch {
		case r.P99AddedUS != nil:
			fmt.Fprintf(b, "added p99 latency at a fixed %.0f req/s: %.0f µs\n", r.Settings.OpenLoopRate, *r.P99AddedUS)
		case len(r.OpenLoop) > 0:
			fmt.Fprintf(b, "added p99 latency at a fixed %.0f req/s: not measured, the rate was not held (see the notes)\n", r.Settings.OpenLoopRate)
		}
	}
	if r.CachedRPS > 0 {
		fmt.Fprintf(b, "cached personalised / uncached passthrough: %.3f× requests/s, %.3f× proxy CPU per request\n", r.CachedVsPassthroughRPSRatio, r.CachedVsPassthroughCPURatio)
	}
	if r.NginxCacheSubFilterCPUUS > 0 {
		fmt.Fprintf(b, "cached personalised / nginx proxy_cache + sub_filter: %.3f× proxy CPU per request, %.3f× requests/s\n", r.CachedVsNginxCacheSubFilterCPURatio, r.CachedVsNginxCacheSubFilterRPSRatio)
	}
	if r.NginxCacheCPUUS > 0 {
		fmt.Fprintf(b, "cached personalised / nginx proxy_cache: %.3f× proxy CPU per request, %.3f× requests/s\n", r.CachedVsNginxCacheCPURatio, r.CachedVsNginxCacheRPSRatio)
	}
	return b.Len() > start
}
