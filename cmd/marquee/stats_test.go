package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/marquee-proxy/marquee/decide/stats"
)

// cannedReport is what a node with one A/B campaign answers.
func cannedReport() stats.Report {
	at := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	f := func(v float64) *float64 { return &v }
	return stats.Report{
		GeneratedAt: at,
		Nodes:       []stats.NodeInfo{{Node: "edge-1", Started: at, At: at}},
		Campaigns: []stats.CampaignReport{{
			Campaign: "hero",
			Baseline: "control",
			Variants: []stats.VariantReport{
				{Variant: "control", Weight: 1, Control: true, Exposures: 2000, UniqueVisitors: 1000, Converters: 100, Conversions: 110, ConversionRate: f(0.1)},
				{Variant: "sale", Weight: 1, Exposures: 2100, UniqueVisitors: 1000, Converters: 130, Conversions: 140, ConversionRate: f(0.13),
					Lift: f(0.3), LiftCI95: &stats.Interval{Low: 0.017, High: 0.662}, PValue: f(0.0355)},
			},
			SRMTest: &stats.SRMTest{ChiSquare: 0, DF: 1, PValue: 1, Threshold: stats.SRMThreshold},
		}},
	}
}

// statsServer serves a canned answer at /v1/stats and requires token.
func statsServer(t *testing.T, token string, status int, body any) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/stats" || r.Method != http.MethodGet {
			http.NotFound(w, r)
			return
		}
		if r.Header.Get("Authorization") != "Bearer "+token {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"error":{"code":"unauthorized","message":"missing or wrong bearer token"}}`))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestStatsCommand(t *testing.T) {
	ok := statsServer(t, "s3cret", http.StatusOK, cannedReport())
	broken := statsServer(t, "s3cret", http.StatusOK, "not a report")
	tests := []struct {
		name       string
		args       []string
		env, old   string // $MARQUEE_ADMIN_TOKEN, $MARQUEE_TOKEN
		wantCode   int
		wantStdout []string
		wantStderr string
	}{
		{"table", []string{"-admin", ok.URL, "-token", "s3cret"}, "", "", 0,
			[]string{"campaign hero: split ok", "control (baseline)", "sale", "13.00%", "+30.0% [+1.7%, +66.2%]", "0.0355"}, ""},
		{"token from env", []string{"-admin", ok.URL + "/"}, "s3cret", "", 0, []string{"campaign hero"}, ""},
		{"token from the old variable", []string{"-admin", ok.URL}, "", "s3cret", 0, []string{"campaign hero"}, ""},
		{"-token wins over env", []string{"-admin", ok.URL, "-token", "s3cret"}, "nope", "nope", 0, []string{"campaign hero"}, ""},
		{"no token", []string{"-admin", ok.URL}, "", "", 1, nil, "marquee stats: the admin API answered 401: give the token with -token TOKEN or MARQUEE_ADMIN_TOKEN=TOKEN\n"},
		{"json", []string{"-admin", ok.URL, "-token", "s3cret", "-json"}, "", "", 0, []string{`"campaign":"hero"`, `"lift":0.3`}, ""},
		{"wrong token", []string{"-admin", ok.URL, "-token", "nope"}, "", "", 1, nil, "marquee stats: the admin API answered 401: it refused the token given (with -token or MARQUEE_ADMIN_TOKEN)\n"},
		{"not a report", []string{"-admin", broken.URL, "-token", "s3cret"}, "", "", 1, nil, "decoding the report"},
		{"bad url", []string{"-admin", "127.0.0.1:9000"}, "", "", 1, nil, "want an http or https URL"},
		{"stray argument", []string{"extra"}, "", "", 2, nil, "unexpected argument"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("MARQUEE_ADMIN_TOKEN", tt.env)
			t.Setenv("MARQUEE_TOKEN", tt.old)
			code, stdout, stderr := runCLI(append([]string{"stats"}, tt.args...)...)
			if code != tt.wantCode {
				t.Errorf("exit code %d, want %d; stderr %q", code, tt.wantCode, stderr)
			}
			for _, want := range tt.wantStdout {
				if !strings.Contains(stdout, want) {
					t.Errorf("stdout lacks %q:\n%s", want, stdout)
				}
			}
			if !strings.Contains(stderr, tt.wantStderr) {
				t.Errorf("stderr %q, want it to contain %q", stderr, tt.wantStderr)
			}
		})
	}
}

func TestStatsUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nothing listens there now
	if code, _, stderr := runCLI("stats", "-admin", url, "-timeout", "2s"); code != 1 || !strings.Contains(stderr, "marquee stats:") {
		t.Errorf("code %d, stderr %q; want 1 and an error", code, stderr)
	}
}
