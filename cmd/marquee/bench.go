package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/marquee-proxy/marquee/bench"
)

func runBench(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("bench", "[flags]", `
Measure marquee on this machine with no setup. Starts an origin simulator
serving one page, this marquee binary twice as its own processes (a
passthrough proxy and a personalising one, with generated profiles and
campaigns filling every slot of the page), and a closed-loop load generator
whose visitors carry valid cookies and follow a Zipf distribution. Then an
open-loop phase at a fixed rate (half passthrough's maximum) measures the
latency personalisation adds. Reports requests/s, latency percentiles,
bytes/s, and the proxy's own CPU time and allocations per request, side by
side, ratios first. Progress lines go to stderr when it is a terminal.

The load generator shares the machine with the proxy, so CPU per request of
the proxy process is the figure to compare, not requests/s.`, stderr)
	duration := fs.Duration("duration", 10*time.Second, "measured time per server and mode")
	rounds := fs.Int("rounds", 3, "split each server's -duration into this many slices, alternating between servers, so background load falls on all alike")
	warmup := fs.Duration("warmup", 0, "warm-up before each slice, not counted (default a fifth of a slice, at most 1s; negative: none)")
	conns := fs.Int("connections", 32, "concurrent client `connections`")
	page := fs.String("page", "", "HTML `file` the origin serves (default: the built-in 61 KB listing page with slots hero, offer, recs)")
	size := fs.Int("size", 0, "serve a generated product-listing page of about this many `bytes` instead")
	slots := fs.Int("slots", 3, "slots in the generated page (with -size)")
	gzipOrigin := fs.Bool("gzip-origin", false, "the origin answers gzip-encoded and the client asks for gzip")
	nonce := fs.Bool("nonce", false, "the origin changes a 32-byte csrf token in the page on every response")
	profiles := fs.Int("profiles", 10000, "visitor profiles stored and played")
	zipf := fs.Float64("zipf", bench.DefaultZipfS, "Zipf exponent of visitor popularity (> 1)")
	rate := fs.Float64("rate", 0.5, "open-loop rate as a `fraction` of passthrough's maximum requests/s; 0 or negative skips the open-loop phase")
	against := fs.String("against", "", "load an already running proxy at this `URL` instead (requests/s and latency only)")
	cookieKey := fs.String("cookie-key", "", "base64 cookie-signing `key` of the -against proxy, to send valid visitor cookies")
	cookieName := fs.String("cookie", "mq_vid", "visitor cookie `name`")
	compare := fs.String("compare", "", "also measure these proxies in front of the same origin, a comma-separated `list`: nginx (a plain proxy, and sub_filter substituting the same slots; with -cache also both with proxy_cache); skipped with a note when not installed")
	cacheOn := fs.Bool("cache", false, "also measure both marquee servers with the edge cache on, the origin letting shared caches keep the page, so that requests are served from the cache (not with -nonce or -against)")
	asJSON := fs.Bool("json", false, "print one JSON object instead of a table")
	if code, stop := parseFlags(fs, args); stop {
		return code
	}

	opts := bench.Options{
		GzipOrigin:   *gzipOrigin,
		Nonce:        *nonce,
		Cache:        *cacheOn,
		Duration:     *duration,
		Warmup:       *warmup,
		Rounds:       *rounds,
		Connections:  *conns,
		Profiles:     *profiles,
		ZipfS:        *zipf,
		RateFraction: *rate,
		Against:      *against,
		CookieKey:    *cookieKey,
		CookieName:   *cookieName,
	}
	if isTerminal(stderr) {
		opts.Progress = stderr
	}
	if opts.RateFraction <= 0 {
		opts.RateFraction = -1
	}
	if *compare != "" {
		opts.Compare = strings.Split(*compare, ",")
	}
	switch {
	case *page != "" && *size > 0:
		fmt.Fprintln(stderr, "marquee bench: -page and -size exclude each other")
		return 2
	case *page != "":
		data, err := os.ReadFile(*page)
		if err != nil {
			fmt.Fprintln(stderr, "marquee bench:", err)
			return 1
		}
		opts.Page, opts.PageName = data, *page
	case *size > 0:
		opts.Page = bench.GeneratePage(*size, *slots)
		opts.PageName = "generated listing"
	}
	if *against == "" {
		exe, err := os.Executable()
		if err != nil {
			fmt.Fprintln(stderr, "marquee bench: cannot find this program to run as the proxy:", err)
			return 1
		}
		opts.Binary = exe
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := bench.Run(ctx, opts)
	if err != nil {
		fmt.Fprintln(stderr, "marquee bench:", err)
		return 1
	}
	if *asJSON {
		err = rep.WriteJSON(stdout)
	} else {
		err = rep.WriteText(stdout)
	}
	if err != nil {
		fmt.Fprintln(stderr, "marquee bench:", err)
		return 1
	}
	return 0
}
