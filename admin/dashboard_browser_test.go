//go:build unix

package admin

import (
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/marquee-proxy/marquee/internal/browsertest"
)

// section returns the outer HTML of the element with the given id.
func section(dom, id string) string {
	start := strings.Index(dom, `id="`+id+`"`)
	if start < 0 {
		return ""
	}
	start = strings.LastIndex(dom[:start], "<")
	end := strings.Index(dom[start:], "</section>")
	if end < 0 {
		return dom[start:]
	}
	return dom[start : start+end]
}

// campaignPart returns the part of the experiments section about
// campaign: from its heading to the next campaign's.
func campaignPart(sec, campaign string) string {
	start := strings.Index(sec, `<code>`+campaign+`</code>`)
	if start < 0 {
		return ""
	}
	if end := strings.Index(sec[start:], "<h3>"); end >= 0 {
		return sec[start : start+end]
	}
	return sec[start:]
}

func TestDashboardInBrowser(t *testing.T) {
	browser := browsertest.Find(t)
	const token = "brw-s3cret-token"
	const pageViews = 12
	env := newDashboardEnv(t, token)
	env.browse(t, pageViews)
	env.recordExperiments()
	escaped := strings.NewReplacer("<", "&lt;", ">", "&gt;").Replace(xssPayload)

	tests := []struct {
		name string
		// fragment follows "/#"; empty loads the page bare.
		fragment string
		// want are regexps each section (by id) must match; absent must
		// not match anywhere in the DOM.
		want   map[string][]string
		absent []string
		// campaigns are regexps each campaign's part of the experiments
		// section must (want) or must not (absent) match.
		campaigns map[string]struct{ want, absent []string }
	}{
		{
			name:     "token and profile from the fragment",
			fragment: "token=" + token + "&profile=xss-visitor",
			want: map[string][]string{
				"auth":   {`^<section id="auth" class="card auth" hidden`},
				"whoami": {`^<span id="whoami" class="muted">admin<span class="badge role">edit</span></span>`},
				"audit":  {`^<section id="audit" class="card wide">`, `No write recorded yet`},
				"node":   {`Single node`},
				"traffic": {
					`<tr class="total"><th>all</th><th class="num">` + strconv.Itoa(pageViews) + `</th>`,
					`<tr data-outcome="passthrough"><td>passthrough</td><td class="num">0</td>`,
					`data-outcome="rewritten"><td>rewritten</td><td class="num">[1-9]`,
					`data-outcome="origin_error"`,
					`requests/s`,
					`p50</dt><dd>[0-9.]+ (µs|ms)</dd>`,
					`Origin timeouts \(504\)</dt><dd>0`,
					`Rewrite failures`,
					`<h3>Edge cache</h3>`,
					`Hit ratio since start</dt><dd>66.7%</dd>`,
					`Entries</dt><dd>[1-9]`,
					`Size</dt><dd>[0-9.]+ KiB</dd>`,
				},
				// uPlot drew each chart (its script and style passed the
				// policy) from the sampled history.
				"charts": {
					`data-chart="rps"><h4>Requests/s by outcome</h4><div><div class="uplot[^"]*"[^>]*>.*?<canvas width="[1-9][0-9]*" height="[1-9]`,
					`data-chart="latency"><h4>Rewrite latency</h4><div><div class="uplot`,
					`data-chart="cache"><h4>Edge cache hit ratio</h4><div><div class="uplot`,
					`<th class="u-label">rewritten</th>|<div class="u-label">rewritten</div>`,
				},
				"campaigns": {
					`config version 0`,
					`<code>gold-hero</code>`, `<code>spring-sale</code>`, `<code>exit-offer</code>`,
					`Slot <code>hero</code>`,
					`from 2020-01-01T00:00:00Z · mon, tue, wed, thu, fri, sat, sun`,
					`5 per 1d`,
					`banner-a 40% \(control\) · banner-b 40% · holdout 20%`,
					// Markup in a condition is shown as text.
					`attrs.name != "&lt;img src=x onerror=alert\(3\)&gt;"`,
				},
				"experiments": {
					`<code>spring-sale</code>`, `lift against banner-a`, `banner-b`, `holdout`,
					`Sample ratio mismatch`,
				},
				"profile": {
					`<code>xss-visitor</code>`,
					`<span class="chip">gold</span>`,
					`"name": "` + regexp.QuoteMeta(escaped) + `"`,
					`"` + regexp.QuoteMeta(escaped) + `": "as a key too"`,
				},
			},
			absent: []string{`<img`, token},
			campaigns: map[string]struct{ want, absent []string }{
				// Experiment metrics: judged on the primary metric,
				// sequentially; the legacy z-test's lift and p-value,
				// significant here, are not shown.
				"spring-sale": {
					want: []string{
						`data-chart="daily-spring-sale-enrolled"><h4>Visitors enrolled per day</h4><div><div class="uplot`,
						`data-chart="daily-spring-sale-conversion"><h4>Conversion rate to date, with 95% interval</h4><div><div class="uplot`,
						`Judged on conversion per enrolled visitor, sequential analysis`,
						`<th class="num">Difference \(95% confidence sequence\)</th>`,
						`<th class="num">Always-valid p</th>`,
						`<td class="num">baseline</td>`,
						`<td>banner-b</td>(<td class="num">[^<]*</td>){5}<td class="num">\+0\.0[0-9]+ \[−[0-9.]+, \+[0-9.]+\]</td>`,
						`<td class="num">0\.[0-9]{3}</td><td>not significant</td>`,
					},
					absent: []string{`Lift \(95% CI\)`, `<th class="num">p-value</th>`, ` sig"`, `better`},
				},
				// Browsing enrolled a few visitors: too few to compare.
				"exit-offer": {
					want:   []string{`Sample ratio mismatch`, `<th class="num">Always-valid p</th>`, `<td>voucher</td>.*<td>—</td></tr>`},
					absent: []string{`Lift \(95% CI\)`, ` sig"`},
				},
				// No experiment: the legacy table.
				"gold-hero": {
					want: []string{`<th class="num">Lift \(95% CI\)</th><th class="num">p-value</th>`,
						// The server's note, as marquee stats prints it.
						`<span class="muted"> · one arm, no control or holdout: exposures and conversions only, no lift or split check</span>`,
						// Nobody enrolled: a message, not an empty chart.
						`Visitors enrolled per day</h4><p class="muted">No daily results yet`},
					absent: []string{`Always-valid p`},
				},
			},
		},
		{
			name: "no token",
			want: map[string][]string{
				"auth":      {`^<section id="auth" class="card auth">`, `needs a bearer token`},
				"charts":    {`Needs the admin token`},
				"campaigns": {`Needs the admin token`},
				"traffic":   {`Needs the admin token`},
			},
			absent: []string{`gold-hero`, `spring-sale`, `data-outcome`, `<img`},
		},
		{
			// A read token sees everything, says so, and may not publish.
			name:     "read token",
			fragment: "token=" + viewerToken,
			want: map[string][]string{
				"auth":      {`^<section id="auth" class="card auth" hidden`},
				"whoami":    {`^<span id="whoami" class="muted">viewer<span class="badge role">read-only</span></span>`},
				"campaigns": {`<code>gold-hero</code>`},
				"editor":    {`<span id="ed-readonly" class="muted">Your token can read but not publish.</span>`, `<button id="ed-publish" type="button" disabled="">Publish</button>`},
				"audit":     {`^<section id="audit" class="card wide">`},
			},
			absent: []string{viewerToken, `<img`},
		},
		{
			// A holdout fills its slot with the page's own content: not
			// "shown".
			name:     "profile in a holdout",
			fragment: "token=" + token + "&profile=" + env.heldOut,
			want: map[string][]string{
				"profile": {`<code>spring-sale</code></td><td><span class="badge">holdout</span></td><td><span class="muted">held out: the page's own content</span>`},
			},
		},
		{
			name:     "wrong token",
			fragment: "token=wrong&profile=xss-visitor",
			want: map[string][]string{
				"auth":    {`^<section id="auth" class="card auth">`, `refused the token`},
				"profile": {`<p class="muted">Needs the admin token.</p>`},
			},
			absent: []string{`gold-hero`, `as a key too`, `<img`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			url := env.admin.URL + "/"
			if tt.fragment != "" {
				url += "#" + tt.fragment
			}
			dom := browsertest.DumpDOM(t, browser, url)
			failed := false
			// Set by the page's script when its style applies: both inline
			// parts passed the Content-Security-Policy.
			if !strings.Contains(dom, `<html lang="en" data-styled="">`) {
				t.Errorf("the page's script did not run or its style sheet was refused")
				failed = true
			}
			for id, res := range tt.want {
				sec := section(dom, id)
				for _, re := range res {
					if !regexp.MustCompile(re).MatchString(sec) {
						t.Errorf("section %s does not match %q", id, re)
						failed = true
					}
				}
			}
			exps := section(dom, "experiments")
			for name, c := range tt.campaigns {
				part := campaignPart(exps, name)
				for _, re := range c.want {
					if !regexp.MustCompile(re).MatchString(part) {
						t.Errorf("campaign %s does not match %q", name, re)
						failed = true
					}
				}
				for _, re := range c.absent {
					if regexp.MustCompile(re).MatchString(part) {
						t.Errorf("campaign %s matches %q", name, re)
						failed = true
					}
				}
			}
			for _, s := range tt.absent {
				if strings.Contains(dom, s) {
					t.Errorf("DOM contains %q", s)
					failed = true
				}
			}
			if failed {
				// The script is the embedded one; what it built is the rest.
				t.Logf("DOM:\n%s", dom)
			}
		})
	}
}
