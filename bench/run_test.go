package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/marquee-proxy/marquee/config"
)

// TestRunAgainst loads an already running server (here the origin
// simulator itself) the way -against does: throughput and latency only.
func TestRunAgainst(t *testing.T) {
	o, err := StartOrigin(OriginOptions{Page: ListingPage})
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	key, _ := config.NewKey()
	var progress bytes.Buffer
	rep, err := Run(context.Background(), Options{
		Against: o.URL(), CookieKey: key, Duration: 300 * time.Millisecond, Rounds: 1,
		Connections: 2, Profiles: 50, Progress: &progress,
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Results) != 1 || rep.Results[0].Name != "target" || rep.Results[0].RPS <= 0 || rep.Results[0].Errors != 0 {
		t.Fatalf("results %+v", rep.Results)
	}
	if rep.Results[0].CPUPerReqUS != 0 {
		t.Errorf("CPU measured for a process the bench did not start")
	}
	if !strings.Contains(progress.String(), "bench: target") {
		t.Errorf("no progress: %q", progress.String())
	}
	var text, js bytes.Buffer
	if err := rep.WriteText(&text); err != nil || !strings.Contains(text.String(), "target") {
		t.Errorf("text report: %v\n%s", err, text.String())
	}
	if err := rep.WriteJSON(&js); err != nil || !json.Valid(js.Bytes()) {
		t.Errorf("JSON report: %v\n%s", err, js.String())
	}
}

func TestRunRefuses(t *testing.T) {
	if _, err := Run(context.Background(), Options{Against: "http://127.0.0.1:1", Compare: []string{"apache"}}); !errors.Is(err, ErrUnknownCompare) {
		t.Errorf("compare apache: %v, want ErrUnknownCompare", err)
	}
	for _, o := range []Options{{Binary: "marquee", Cache: true, Nonce: true}, {Against: "http://127.0.0.1:1", Cache: true}} {
		if _, err := Run(context.Background(), o); !errors.Is(err, ErrCacheOptions) {
			t.Errorf("cache with nonce %v, against %q: %v, want ErrCacheOptions", o.Nonce, o.Against, err)
		}
	}
	if _, err := Run(context.Background(), Options{}); err == nil {
		t.Error("no binary accepted")
	}
	if _, err := Run(context.Background(), Options{Against: "http://127.0.0.1:1", CookieKey: "not base64!"}); err == nil {
		t.Error("bad cookie key accepted")
	}
}

func TestSummarize(t *testing.T) {
	r := &Report{
		Results: []Result{
			{Name: "passthrough", RPS: 1000, CPUPerReqUS: 40},
			{Name: "personalized", RPS: 950, CPUPerReqUS: 44},
			{Name: "nginx-sub_filter", RPS: 800, CPUPerReqUS: 100},
		},
	}
	r.summarize()
	if r.Ratio != 0.95 || r.CPURatio != 1.1 || r.SubFilterCPURatio != 0.44 || r.P99AddedUS != nil || len(r.Notes) != 0 {
		t.Errorf("ratio %v cpu_ratio %v sub_filter %v p99_added %v notes %q", r.Ratio, r.CPURatio, r.SubFilterCPURatio, r.P99AddedUS, r.Notes)
	}
}

// TestSummarizeOpenLoop: the added p99 latency is reported only when both
// servers held the open loop's rate and the generator sent on schedule;
// otherwise a note says why it is missing.
func TestSummarizeOpenLoop(t *testing.T) {
	added := 120.0
	tests := []struct {
		name             string
		passRPS, persRPS float64
		late             uint64
		want             *float64
		notes            []string
	}{
		{"rate held", 500, 480, 0, &added, nil},
		{"a few late", 500, 480, 19, &added, []string{"19 of 20000 requests left over 1 ms behind schedule, too few to move p99"}},
		{"personalised below the rate", 500, 300, 0, nil, []string{"personalized reached 300 of 500 req/s", "the added p99 latency is not reported"}},
		{"passthrough below the rate", 450, 500, 0, nil, []string{"passthrough reached 450 of 500 req/s"}},
		{"generator late", 500, 480, 21, nil, []string{"21 of 20000 requests left over 1 ms behind schedule: the generator could not hold the rate, so the added p99 latency is not reported"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &Report{
				Results: []Result{{Name: "passthrough", RPS: 1000}, {Name: "personalized", RPS: 950}},
				OpenLoop: []Result{
					{Name: "passthrough", RPS: tt.passRPS, P99US: 500, Requests: 10000, Late: tt.late},
					{Name: "personalized", RPS: tt.persRPS, P99US: 620, Requests: 10000},
				},
			}
			r.Settings.OpenLoopRate = 500
			r.summarize()
			if (r.P99AddedUS == nil) != (tt.want == nil) || r.P99AddedUS != nil && *r.P99AddedUS != *tt.want {
				t.Errorf("p99_added_us %v, want %v", r.P99AddedUS, tt.want)
			}
			notes := strings.Join(r.Notes, "\n")
			for _, want := range tt.notes {
				if !strings.Contains(notes, want) {
					t.Errorf("notes %q lack %q", r.Notes, want)
				}
			}
			if tt.notes == nil && len(r.Notes) != 0 {
				t.Errorf("notes %q, want none", r.Notes)
			}
			var text, js bytes.Buffer
			if err := r.WriteText(&text); err != nil {
				t.Fatal(err)
			}
			if err := r.WriteJSON(&js); err != nil {
				t.Fatal(err)
			}
			line := "added p99 latency at a fixed 500 req/s: 120 µs"
			if tt.want == nil {
				line = "added p99 latency at a fixed 500 req/s: not measured"
			}
			if !strings.Contains(text.String(), line) {
				t.Errorf("no %q in\n%s", line, text.String())
			}
			if got := strings.Contains(js.String(), `"p99_added_us"`); got != (tt.want != nil) {
				t.Errorf("p99_added_us in the JSON: %v, want %v", got, tt.want != nil)
			}
		})
	}
}

// TestWriteTextOrder: the ratios come first, then the settings and the
// table, then the notes.
func TestWriteTextOrder(t *testing.T) {
	r := &Report{
		Results: []Result{
			{Name: "passthrough", Mode: "closed", RPS: 1000, CPUPerReqUS: 40},
			{Name: "personalized", Mode: "closed", RPS: 950, CPUPerReqUS: 44, OtherCPUCores: 0.5},
		},
	}
	r.Settings.Page = "listing"
	r.summarize()
	var b bytes.Buffer
	if err := r.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	text := b.String()
	order := []string{"marquee bench:", "personalised / passthrough: 0.950× requests/s, 1.100× proxy CPU per request", "page listing;", "server", "personalized", "note: other processes"}
	at := 0
	for _, want := range order {
		i := strings.Index(text[at:], want)
		if i < 0 {
			t.Fatalf("%q missing or out of order in\n%s", want, text)
		}
		at += i + len(want)
	}
	if strings.Contains(text, "added p99") {
		t.Errorf("no open loop, yet an added p99 line:\n%s", text)
	}
}

func TestSummarizeCache(t *testing.T) {
	r := &Report{Results: []Result{
		{Name: NamePassthrough, Requests: 1, RPS: 1000, CPUPerReqUS: 40},
		{Name: NamePersonalized, Requests: 1, RPS: 800, CPUPerReqUS: 60},
		{Name: NameCachedPassthrough, Requests: 1, RPS: 2500, CPUPerReqUS: 15, CacheHitRatio: 1},
		{Name: NameCachedPersonalized, Requests: 1, RPS: 2000, CPUPerReqUS: 25, CacheHitRatio: 1},
		{Name: NameNginxCache, Requests: 1, RPS: 2600, CPUPerReqUS: 20, CacheHitRatio: 0.98},
		{Name: NameNginxCacheSubFilter, Requests: 1, RPS: 1250, CPUPerReqUS: 50, CacheHitRatio: 1},
	}}
	r.summarize()
	for _, c := range []struct {
		name      string
		got, want float64
	}{
		{"cache_hit_ratio", r.CacheHitRatio, 1},
		{"cached_rps", r.CachedRPS, 2000},
		{"cached_cpu_us", r.CachedCPUUS, 25},
		{"cached_passthrough_cpu_us", r.CachedPassthroughCPUUS, 15},
		{"cached_vs_passthrough_rps_ratio", r.CachedVsPassthroughRPSRatio, 2},
		{"cached_vs_passthrough_cpu_ratio", r.CachedVsPassthroughCPURatio, 0.625},
		{"nginx_cache_cpu_us", r.NginxCacheCPUUS, 20},
		{"nginx_cache_sub_filter_cpu_us", r.NginxCacheSubFilterCPUUS, 50},
		{"nginx_cache_hit_ratio", r.NginxCacheHitRatio, 0.98},
		{"cached_vs_nginx_cache_cpu_ratio", r.CachedVsNginxCacheCPURatio, 1.25},
		{"cached_vs_nginx_cache_sub_filter_cpu_ratio", r.CachedVsNginxCacheSubFilterCPURatio, 0.5},
		{"cached_vs_nginx_cache_sub_filter_rps_ratio", r.CachedVsNginxCacheSubFilterRPSRatio, 1.6},
	} {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	if len(r.Notes) != 1 || !strings.Contains(r.Notes[0], "nginx-cache: 98.0% of responses were cache hits") {
		t.Errorf("notes %q", r.Notes)
	}
	var text, js bytes.Buffer
	if err := r.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"cached personalised / nginx proxy_cache + sub_filter: 0.500× proxy CPU per request, 1.600× requests/s", "100.0%"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("no %q in\n%s", want, text.String())
		}
	}
	if err := r.WriteJSON(&js); err != nil || !strings.Contains(js.String(), `"cached_vs_nginx_cache_sub_filter_cpu_ratio": 0.5,`) {
		t.Errorf("JSON: %v\n%s", err, js.String())
	}
}
