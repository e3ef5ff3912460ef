package main

import (
	"bytes"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runCLI(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestHelpOnEveryCommand(t *testing.T) {
	for _, c := range commands {
		t.Run(c.name, func(t *testing.T) {
			code, _, stderr := runCLI(c.name, "-h")
			if code != 0 {
				t.Errorf("exit code %d, want 0", code)
			}
			if !strings.Contains(stderr, "Usage: marquee "+c.name) {
				t.Errorf("help output %q lacks a usage line", stderr)
			}
		})
	}
	if code, out, _ := runCLI("help"); code != 0 || !strings.Contains(out, "keygen") {
		t.Errorf("help: code %d, output %q", code, out)
	}
	if code, _, stderr := runCLI("frobnicate"); code != 2 || !strings.Contains(stderr, `unknown command "frobnicate"`) {
		t.Errorf("unknown command: code %d, stderr %q", code, stderr)
	}
	if code, _, _ := runCLI("check", "-nosuchflag"); code != 2 {
		t.Errorf("bad flag: code %d, want 2", code)
	}
}

func TestKeygen(t *testing.T) {
	code, out, _ := runCLI("keygen")
	if code != 0 {
		t.Fatalf("exit code %d", code)
	}
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(out))
	if err != nil || len(b) != 32 {
		t.Errorf("keygen printed %q: %d bytes, %v", out, len(b), err)
	}
}

func TestVersion(t *testing.T) {
	if code, out, _ := runCLI("version"); code != 0 || !strings.HasPrefix(out, "marquee ") {
		t.Errorf("version: code %d, output %q", code, out)
	}
}

func TestCheck(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.yaml", `listen: 127.0.0.1:8000
origin: http://127.0.0.1:8080
segments:
  gold: 'attrs.tier == "gold"'
campaigns:
  - id: gold-hero
    slot: hero
    when: gold
    priority: 10
    template: '<b>Hello {{.Profile.Attrs.name}}, gold offer</b>'
`)
	code, out, stderr := runCLI("check", "-config", good)
	if code != 0 || !strings.Contains(out, "ok") {
		t.Errorf("good config: code %d, stdout %q, stderr %q", code, out, stderr)
	}

	bad := write("marquee.yaml", `listen: 127.0.0.1:8000
origin: http://127.0.0.1:8080
segments:
  gold: 'attrs.tier == "gold"'
campaigns:
  - id: gold-hero
    slot: hero
    when: gold
    priority: 10
    template: '<b>x</b>'
  - id: plat
    slot: hero
    when: platinum
    template: '<b>{{.Profile.Attrs.name</b>'
`)
	code, _, stderr = runCLI("check", "-config", bad)
	if code != 1 {
		t.Errorf("bad config: exit code %d, want 1", code)
	}
	for _, want := range []string{
		bad + `:13: campaigns[1].when: "platinum" at column 1: unknown segment "platinum"; segments: gold`,
		bad + `:14: campaigns[1].template: template does not parse`,
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr %q lacks %q", stderr, want)
		}
	}

	code, _, stderr = runCLI("serve", "-config", bad)
	if code != 1 || !strings.Contains(stderr, `unknown segment "platinum"`) {
		t.Errorf("serve with bad config: code %d, stderr %q", code, stderr)
	}

	metrics := write("metrics.yaml", `origin: http://127.0.0.1:8080
campaigns:
  - id: hero-test
    slot: hero
    template: '<b>x</b>'
    experiment:
      layer: 'hero tests'
      metrics: [revenue_per_visitor, bounce_rate]
      primary: aov
      analysis: bayes
      variants: [{name: a}, {name: b}]
`)
	code, _, stderr = runCLI("check", "-config", metrics)
	for _, want := range []string{
		metrics + `:7: campaigns[0].experiment.layer: "hero tests": use letters, digits, '_', '.' and '-' only`,
		metrics + `:8: campaigns[0].experiment.metrics[1]: unknown metric "bounce_rate"; want one of conversion, orders_per_visitor, revenue_per_visitor, aov`,
		metrics + `:9: campaigns[0].experiment.primary: "aov" is not among the experiment's metrics`,
		metrics + `:10: campaigns[0].experiment.analysis: "bayes": want sequential or fixed`,
	} {
		if code != 1 || !strings.Contains(stderr, want) {
			t.Errorf("experiment metrics: code %d, stderr %q lacks %q", code, stderr, want)
		}
	}

	// listen left out is the proxy's default, 127.0.0.1:8000.
	clash := write("clash.yaml", "origin: http://127.0.0.1:8080\nadmin:\n  listen: 127.0.0.1:8000\n")
	code, _, stderr = runCLI("check", "-config", clash)
	if want := clash + `:3: admin.listen: "127.0.0.1:8000" is also the public listen address`; code != 1 || !strings.Contains(stderr, want) {
		t.Errorf("admin on the default public address: code %d, stderr %q, want %q", code, stderr, want)
	}
}

// TestCheckEveryProblem: check prints the problems of every phase
// (decoding, validation, compiling expressions and templates) together,
// in file order, and nothing twice for one field.
func TestCheckEveryProblem(t *testing.T) {
	tests := []struct {
		name, doc string
		want      []string // the whole of stderr, one line each, after the file name
	}{
		{"unknown segment and bad hours", `origin: http://127.0.0.1:8080
segments:
  gold: 'attrs.tier == "gold"'
campaigns:
  - id: welcome
    slot: hero
    when: goldd
    template: '<p>hi</p>'
    schedule:
      hours: ['25:00-26:00']
`, []string{
			`:7: campaigns[0].when: "goldd" at column 1: unknown segment "goldd"; segments: gold`,
			`:10: campaigns[0].schedule.hours[0]: "25:00-26:00": want a range HH:MM-HH:MM such as 09:00-17:30`,
		}},
		{"unknown field, bad expression, bad template field", `origin: http://127.0.0.1:8080
campaigns:
  - id: welcome
    slot: hero
    colour: red
    when: attrs.tier === 'gold'
    template: '<p>{{.Profile.Tier}}</p>'
`, []string{
			`:5: campaigns[0].colour: unknown field "colour"`,
			`:6: campaigns[0].when: "attrs.tier === 'gold'" at column 14: unexpected token Operator("=")`,
			`:7: campaigns[0].template: template: line 1: {{.Profile.Tier}}: Profile has no field "Tier"; fields: ID, Attrs, Scores, Consent, Cart, Purchases, Views, Custom, Recent, Sessions, LastSeen, Landing, SessionStart, Links, Variants, Exposures, Updated`,
		}},
		{"an empty segment is not also an expression error", `origin: http://127.0.0.1:8080
segments:
  gold: ''
  silver: [a]
`, []string{
			`:3: segments.gold: empty expression`,
			`:4: segments.silver: want a string, got a list`,
		}},
	}
	dir := t.TempDir()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(dir, "m.yaml")
			if err := os.WriteFile(p, []byte(tt.doc), 0o600); err != nil {
				t.Fatal(err)
			}
			code, _, stderr := runCLI("check", "-config", p)
			var want strings.Builder
			for _, w := range tt.want {
				want.WriteString(p + w + "\n")
			}
			if code != 1 || stderr != want.String() {
				t.Errorf("code %d, stderr\n%s\nwant code 1, stderr\n%s", code, stderr, want.String())
			}
		})
	}
}

// TestCheckContextNames: check accepts the request context names and
// points at an unknown one with the names it knows.
func TestCheckContextNames(t *testing.T) {
	tests := []struct {
		name, when, want string // want "" for ok
	}{
		{"device", `device.type == "mobile" and device.os == "ios" and device.browser == "safari"`, ""},
		{"request", `request.path startsWith "/sale" and request.host != "" and request.referrer contains "google" or request.query("utm_source") == "newsletter"`, ""},
		{"geo", `geo.country == "FR" and geo.region == "IDF" or geo.city == "Lyon"`, ""},
		{"visit and time", `visit.new or visit.count > 2 and visit.landing == "/" and time.hour >= 18 and time.weekday in ["sat", "sun"]`, ""},
		{"unknown field", `device.model == "pixel"`, `:4: segments.s: "device.model == \"pixel\"": unknown name "device.model"; known: device.browser, device.os, device.type`},
		{"bare root", `geo == "FR"`, `:4: segments.s: "geo == \"FR\"": geo is not a value; use one of geo.city, geo.country, geo.region`},
		{"unknown root", `browser.name == "x"`, `:4: segments.s: "browser.name == \"x\"" at column 1: unknown name "browser"`},
	}
	dir := t.TempDir()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(dir, "m.yaml")
			doc := "origin: http://127.0.0.1:8080\ntime_zone: Europe/Paris\nsegments:\n  s: '" + strings.ReplaceAll(tt.when, "'", "''") + "'\n"
			if err := os.WriteFile(p, []byte(doc), 0o600); err != nil {
				t.Fatal(err)
			}
			code, _, stderr := runCLI("check", "-config", p)
			switch {
			case tt.want == "" && code != 0:
				t.Errorf("code %d, stderr %q; want ok", code, stderr)
			case tt.want != "" && (code != 1 || !strings.Contains(stderr, p+tt.want)):
				t.Errorf("code %d, stderr %q; want %q", code, stderr, p+tt.want)
			}
		})
	}
}
