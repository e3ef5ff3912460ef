package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/marquee-proxy/marquee/decide/stats"
)

// maxStatsBody bounds the response read from the admin API, so a wrong URL
// pointing at something huge cannot exhaust memory.
const maxStatsBody = 64 << 20

func runStats(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("stats", "[flags]", `
Print the experiment statistics of a running marquee, summed over its
cluster: per campaign and variant the visitors, conversions, conversion rate,
lift over the control with its 95% confidence interval, the p-value, and the
sample-ratio check that flags broken assignment; then the experiment's
metrics per enrolled visitor (conversion, revenue per visitor, average order
value, ...) with the difference from the control, its 95% interval
(a confidence sequence under sequential analysis), the p-value, CUPED's
variance reduction and guardrails made worse.`, stderr)
	af := addAdminFlags(fs)
	timeout := fs.Duration("timeout", 10*time.Second, "give up after this `duration`")
	asJSON := fs.Bool("json", false, "print the JSON report as the server sent it")
	if code, stop := parseFlags(fs, args); stop {
		return code
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	body, err := fetchStats(ctx, af.url, af.bearer())
	if err != nil {
		fmt.Fprintln(stderr, "marquee stats:", err)
		return 1
	}
	if *asJSON {
		if _, err := stdout.Write(body); err != nil {
			fmt.Fprintln(stderr, "marquee stats:", err)
			return 1
		}
		return 0
	}
	var rep stats.Report
	if err := json.Unmarshal(body, &rep); err != nil {
		fmt.Fprintln(stderr, "marquee stats: decoding the report:", err)
		return 1
	}
	if err := stats.WriteText(stdout, rep); err != nil {
		fmt.Fprintln(stderr, "marquee stats:", err)
		return 1
	}
	return 0
}

// fetchStats returns the body of GET admin/v1/stats.
func fetchStats(ctx context.Context, admin, token string) ([]byte, error) {
	return adminCall(ctx, admin, token, http.MethodGet, nil, "v1", "stats")
}

// adminCall sends one request to the admin API at admin and returns the
// body of a 200 answer. Any other answer becomes an error carrying the
// API's error message when it sent one.
func adminCall(ctx context.Context, admin, token, method string, body io.Reader, path ...string) ([]byte, error) {
	base, err := url.Parse(admin)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("-admin %q: want an http or https URL", admin)
	}
	u := base.JoinPath(path...)
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(io.LimitReader(resp.Body, maxStatsBody+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", u, err)
	}
	if len(out) > maxStatsBody {
		return nil, fmt.Errorf("%s: response larger than %d bytes", u, maxStatsBody)
	}
	if resp.StatusCode == http.StatusUnauthorized {
		return nil, unauthorized(token)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: %s%s", u, resp.Status, apiErrorMessage(out))
	}
	return out, nil
}

// apiErrorMessage extracts the message of the admin API's error shape,
// {"error": {"code": …, "message": …}}, or returns "" when body is not one.
func apiErrorMessage(body []byte) string {
	var e struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &e) != nil || (e.Error.Code == "" && e.Error.Message == "") {
		return ""
	}
	return ": " + strings.TrimSpace(e.Error.Code+" "+e.Error.Message)
}
