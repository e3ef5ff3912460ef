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
		OpenLoop: []Result{
			{Name: "passthrough", P99US: 500},
			{Name: "personalized", P99US: 620, OtherCPUCores: 0.5},
		},
	}
	r.Settings.OpenLoopRate = 500
	r.OpenLoop[0].RPS, r.OpenLoop[1].RPS = 500, 480
	r.summarize()
	if r.Ratio != 0.95 || r.CPURatio != 1.1 || r.SubFilterCPURatio != 0.44 || r.P99AddedUS != 120 {
		t.Errorf("ratio %v cpu_ratio %v sub_filter %v p99_added %v", r.Ratio, r.CPURatio, r.SubFilterCPURatio, r.P99AddedUS)
	}
	if len(r.Notes) != 1 || !strings.Contains(r.Notes[0], "not quiet") {
		t.Errorf("notes %q", r.Notes)
	}
	r.Notes = nil
	r.OpenLoop[1].RPS = 300
	r.summarize()
	if len(r.Notes) != 2 || !strings.Contains(r.Notes[0], "personalized reached 300 of 500") {
		t.Errorf("notes %q", r.Notes)
	}
}
