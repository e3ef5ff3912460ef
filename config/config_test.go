package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

func TestParseExampleFile(t *testing.T) {
	c, err := Load("testdata/issue.yaml")
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if got, want := c.Listen, "127.0.0.1:8000"; got != want {
		t.Errorf("listen: got %q, want %q", got, want)
	}
	if got, want := []string(c.Origin), []string{"http://127.0.0.1:8080"}; !reflect.DeepEqual(got, want) {
		t.Errorf("origin: got %q, want %q", got, want)
	}
	if got, want := c.Admin.Token, "s3cret"; got != want {
		t.Errorf("admin.token: got %q, want %q", got, want)
	}
	if got, want := c.Segments, (Segments{{Name: "gold", When: `attrs.tier == "gold"`}}); !reflect.DeepEqual(got, want) {
		t.Errorf("segments: got %+v, want %+v", got, want)
	}
	want := Campaign{ID: "gold-hero", Slot: "hero", When: "gold", Priority: 10,
		Template: "<b>Hello {{.Profile.Attrs.name}}, gold offer</b>"}
	if len(c.Campaigns) != 1 || c.Campaigns[0] != want {
		t.Errorf("campaigns: got %+v, want [%+v]", c.Campaigns, want)
	}
	if got := c.Limits.MaxRequestBody; got != 0 {
		t.Errorf("max_request_body left out: got %d, want 0 (the proxy's default)", got)
	}
	if got, want := c.Line("campaigns[0].template"), 18; got != want {
		t.Errorf("line of campaigns[0].template: got %d, want %d", got, want)
	}
}

func TestParseValues(t *testing.T) {
	tests := []struct {
		name  string
		yaml  string
		check func(t *testing.T, c *Config)
	}{
		{"empty file gets defaults", "origin: http://o:1\n", func(t *testing.T, c *Config) {
			// The proxy's fields stay zero, which means proxy.DefaultOptions'.
			if c.Listen != "" || c.Identity.Cookie != "mq_vid" || c.Limits.ReadTimeout != 0 {
				t.Errorf("defaults not applied: %+v", c)
			}
		}},
		{"origin list", "origin: [http://a:1, 'https://b:2/']\n", func(t *testing.T, c *Config) {
			if got, want := []string(c.Origin), []string{"http://a:1", "https://b:2/"}; !reflect.DeepEqual(got, want) {
				t.Errorf("got %q, want %q", got, want)
			}
		}},
		{"durations with days", "origin: http://o:1\nidentity: {max_age: 7d}\nlimits: {read_timeout: 1m30s, idle_timeout: 1d12h}\n", func(t *testing.T, c *Config) {
			if got, want := c.Identity.MaxAge.D(), 7*24*time.Hour; got != want {
				t.Errorf("max_age: got %v, want %v", got, want)
			}
			if got, want := c.Limits.ReadTimeout.D(), 90*time.Second; got != want {
				t.Errorf("read_timeout: got %v, want %v", got, want)
			}
			if got, want := c.Limits.IdleTimeout.D(), 36*time.Hour; got != want {
				t.Errorf("idle_timeout: got %v, want %v", got, want)
			}
		}},
		{"sizes", "origin: http://o:1\nlimits: {max_request_body: 16MiB, max_rewrite_body: 2MB, max_header_bytes: 8192}\n", func(t *testing.T, c *Config) {
			if c.Limits.MaxRequestBody != 16*MiB || c.Limits.MaxRewriteBody != 2_000_000 || c.Limits.MaxHeaderBytes != 8192 {
				t.Errorf("got %+v", c.Limits)
			}
		}},
		{"segment order kept", "origin: http://o:1\nsegments:\n  z: 'true'\n  a: 'false'\n  m: z\n", func(t *testing.T, c *Config) {
			if got, want := c.Segments.Names(), []string{"z", "a", "m"}; !reflect.DeepEqual(got, want) {
				t.Errorf("got %q, want %q", got, want)
			}
		}},
		{"slots default to inner", "origin: http://o:1\nslots:\n  - {name: hero, selector: '#hero'}\n  - {name: recs, selector: '.recs', mode: append}\n", func(t *testing.T, c *Config) {
			if c.Slots[0].Mode != "inner" || c.Slots[1].Mode != "append" {
				t.Errorf("got %+v", c.Slots)
			}
		}},
		{"anchors and aliases", "origin: &o http://o:1\nadmin: {listen: '127.0.0.1:9001', token: *o}\n", func(t *testing.T, c *Config) {
			if c.Admin.Token != "http://o:1" {
				t.Errorf("got %q", c.Admin.Token)
			}
		}},
		{"null keeps default", "origin: http://o:1\nlisten: ~\nidentity: {cookie: ~}\n", func(t *testing.T, c *Config) {
			if c.Listen != "" || c.Identity.Cookie != "mq_vid" {
				t.Errorf("got %q", c.Listen)
			}
		}},
		{"cluster defaults", "origin: http://o:1\ncluster: {join: ['127.0.0.1:7947']}\n", func(t *testing.T, c *Config) {
			// Left to cluster.DefaultConfig.
			if c.Cluster.Name != "" || c.Cluster.Preset != "" || c.Cluster.Bind != "" {
				t.Errorf("got %+v", c.Cluster)
			}
			if len(c.Warnings()) == 0 {
				t.Error("want a warning for a cluster without identity keys")
			}
		}},
		{"no cache section: no cache", "origin: http://o:1\ncache:\n", func(t *testing.T, c *Config) {
			if c.Cache != nil {
				t.Errorf("cache: got %+v, want nil", c.Cache)
			}
		}},
		{"cache section", "origin: http://o:1\ncache:\n  max_size: 256MiB\n  max_object: 5%\n  stale_if_error: 1d\n  ignore_query: [utm_*, gclid]\n  honor_client_no_cache: true\n  x_cache_header: true\n", func(t *testing.T, c *Config) {
			want := &Cache{MaxSize: 256 * MiB, MaxObject: SizeOrShare{Percent: 5}, StaleIfError: Day,
				IgnoreQuery: []string{"utm_*", "gclid"}, HonorClientNoCache: true, XCacheHeader: true}
			if !reflect.DeepEqual(c.Cache, want) {
				t.Errorf("got %+v, want %+v", c.Cache, want)
			}
			if got, want := c.Cache.MaxObject.Of(c.Cache.MaxSize), ByteSize(256*MiB/20); got != want {
				t.Errorf("max_object of max_size: got %d, want %d", got, want)
			}
		}},
		{"cache max_object as a size", "origin: http://o:1\ncache: {max_size: 1GiB, max_object: 8MiB}\n", func(t *testing.T, c *Config) {
			if got := c.Cache.MaxObject.Of(c.Cache.MaxSize); got != 8*MiB {
				t.Errorf("got %d, want %d", got, 8*MiB)
			}
		}},
		{"admin off needs no token", "origin: http://o:1\nadmin: {listen: 'off'}\n", func(t *testing.T, c *Config) {
			if c.Admin.Listen != "off" {
				t.Errorf("got %q", c.Admin.Listen)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse("t.yaml", []byte(tt.yaml))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			tt.check(t, c)
		})
	}
}

// TestParseErrors checks that every kind of problem is reported with its
// line, its field path and the offending value.
func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string // each a full "FILE:LINE: PATH: message" prefix or substring
	}{
		{"unknown key", "origin: http://o:1\nlisen: x\n", []string{`t.yaml:2: lisen: unknown field "lisen" (did you mean "listen"?)`}},
		{"unknown nested key", "origin: http://o:1\nadmin:\n  listen: 127.0.0.1:9000\n  tokn: x\n", []string{`t.yaml:4: admin.tokn: unknown field "tokn"`}},
		{"unknown campaign key", "origin: http://o:1\ncampaigns:\n  - id: a\n    slot: hero\n    template: x\n    colour: red\n", []string{`t.yaml:6: campaigns[0].colour: unknown field "colour"`}},
		{"wrong type int", "origin: http://o:1\ncampaigns:\n  - id: a\n    slot: hero\n    priority: high\n    template: x\n", []string{`t.yaml:5: campaigns[0].priority: want an integer, got "high"`}},
		{"wrong type list", "origin: http://o:1\nidentity:\n  keys: abc\n", []string{`t.yaml:3: identity.keys: want a list, got "abc"`}},
		{"wrong type mapping", "origin: http://o:1\nadmin: 9000\n", []string{`t.yaml:2: admin: want a mapping of keys to values, got "9000"`}},
		{"wrong type bool", "origin: http://o:1\nidentity: {secure: maybe}\n", []string{`t.yaml:2: identity.secure: want true or false, got "maybe"`}},
		{"string given a list", "listen: [a, b]\norigin: http://o:1\n", []string{`t.yaml:1: listen: want a string, got a list`}},
		{"bad duration", "origin: http://o:1\nlimits:\n  read_timeout: 10 minutes\n", []string{`t.yaml:3: limits.read_timeout: "10 minutes": want a duration`}},
		{"bad duration unit", "origin: http://o:1\nidentity: {max_age: 3w}\n", []string{`t.yaml:2: identity.max_age: "3w": want a duration`}},
		{"bad size", "origin: http://o:1\nlimits: {max_request_body: lots}\n", []string{`t.yaml:2: limits.max_request_body: "lots": want a size`}},
		{"duplicate key", "origin: http://o:1\nlisten: a:1\nlisten: b:2\n", []string{`t.yaml:3: listen: key "listen" appears twice`}},
		{"duplicate segment", "origin: http://o:1\nsegments:\n  a: 'true'\n  a: 'false'\n", []string{`t.yaml:4: segments.a: segment "a" defined twice`}},
		{"missing origin", "listen: 127.0.0.1:8000\n", []string{`t.yaml: origin: required`}},
		{"bad origin", "origin: ftp://o\n", []string{`t.yaml:1: origin: "ftp://o": want an http:// or https:// URL`}},
		{"bad origin in list", "origin:\n  - http://a:1\n  - 'http://b:1/shop'\n", []string{`t.yaml:3: origin[1]: "http://b:1/shop": an origin is a base URL without a path`}},
		{"bad listen", "listen: 8000\norigin: http://o:1\n", []string{`t.yaml:1: listen: "8000": want host:port`}},
		{"admin token needed off loopback", "origin: http://o:1\nadmin:\n  listen: 0.0.0.0:9000\n", []string{`t.yaml:3: admin.token: required when admin.listen "0.0.0.0:9000" is not a loopback address`}},
		{"preview_url not a URL", "origin: http://o:1\nadmin:\n  preview_url: shop.example\n", []string{`t.yaml:3: admin.preview_url: "shop.example": want the shop's address as browsers reach this proxy`}},
		{"preview_url with a query", "origin: http://o:1\nadmin:\n  preview_url: 'http://shop.example/?a=1'\n", []string{`t.yaml:3: admin.preview_url: "http://shop.example/?a=1": want a URL without query`}},
		{"preview_url not http", "origin: http://o:1\nadmin:\n  preview_url: 'ftp://shop.example'\n", []string{`t.yaml:3: admin.preview_url: "ftp://shop.example": want the shop's address`}},
		{"bad key", "origin: http://o:1\nidentity:\n  keys: ['not base64!']\n", []string{`t.yaml:3: identity.keys[0]: not base64`}},
		{"short key", "origin: http://o:1\nidentity:\n  keys: [c2hvcnQ=]\n", []string{`t.yaml:3: identity.keys[0]: key is 5 bytes, want at least 16`}},
		{"bad cookie name", "origin: http://o:1\nidentity: {cookie: 'a b'}\n", []string{`t.yaml:2: identity.cookie: "a b" is not a valid cookie name`}},
		{"bad time zone", "origin: http://o:1\ntime_zone: Mars/Olympus\n", []string{`t.yaml:2: time_zone: unknown time zone "Mars/Olympus"`}},
		{"bad slot mode", "origin: http://o:1\nslots:\n  - name: hero\n    selector: '#h'\n    mode: inside\n", []string{`t.yaml:5: slots[0].mode: unknown mode "inside"`}},
		{"campaign without id and template", "origin: http://o:1\ncampaigns:\n  - slot: hero\n", []string{`t.yaml:3: campaigns[0].id: required`, `t.yaml:3: campaigns[0].template: required`}},
		{"duplicate campaign id", "origin: http://o:1\ncampaigns:\n  - {id: a, slot: s, template: x}\n  - {id: a, slot: s, template: y}\n", []string{`t.yaml:4: campaigns[1].id: campaign "a" defined twice`}},
		{"bad segment name", "origin: http://o:1\nsegments:\n  'big spender': 'true'\n", []string{`t.yaml:3: segments.big spender: segment name "big spender"`}},
		{"bad cluster key", "origin: http://o:1\ncluster:\n  secret_keys: [c2hvcnQ=]\n", []string{`t.yaml:3: cluster.secret_keys[0]: want base64 of a 16-, 24- or 32-byte AES key`}},
		{"negative purge retention", "origin: http://o:1\ncluster:\n  purge_retention: -1h\n", []string{`t.yaml:3: cluster.purge_retention: -1h0m0s: must not be negative`}},
		{"invalid yaml", "origin: http://o:1\nadmin: {listen: [\n", []string{`t.yaml:2: invalid YAML`}},
		{"two documents", "origin: http://o:1\n---\nlisten: a:1\n", []string{`t.yaml:2: more than one YAML document`}},
		{"top level list", "- a\n- b\n", []string{`t.yaml:1: want a mapping of keys to values, got a list`}},
		{"unknown metric", expYAML("metrics: [revenue, aov]"), []string{`t.yaml:7: campaigns[0].experiment.metrics[0]: unknown metric "revenue"; want one of conversion, orders_per_visitor, revenue_per_visitor, aov`}},
		{"metric twice", expYAML("metrics: [aov, aov]"), []string{`t.yaml:7: campaigns[0].experiment.metrics[1]: metric "aov" listed twice`}},
		{"unknown guardrail", expYAML("guardrails: [single_page_sessions]"), []string{`t.yaml:7: campaigns[0].experiment.guardrails[0]: unknown metric "single_page_sessions"`}},
		{"primary not a metric", expYAML("metrics: [aov]\n      primary: conversion"), []string{`t.yaml:8: campaigns[0].experiment.primary: "conversion" is not among the experiment's metrics`}},
		{"primary without metrics", expYAML("primary: aov"), []string{`t.yaml:7: campaigns[0].experiment.primary: "aov" is not among the experiment's metrics (none listed: conversion alone)`}},
		{"bad analysis", expYAML("analysis: bayesian"), []string{`t.yaml:7: campaigns[0].experiment.analysis: "bayesian": want sequential or fixed`}},
		{"bad layer", expYAML("layer: 'hero layer'"), []string{`t.yaml:7: campaigns[0].experiment.layer: "hero layer": use letters`}},
		{"several problems at once", "lisen: x\norigin: http://o:1\nadmin: {tokn: y}\n", []string{`t.yaml:1: lisen`, `t.yaml:3: admin.tokn`}},
		{"decoding and validation problems at once", "lisen: x\norigin: http://o:1\ncampaigns:\n  - id: a\n    slot: hero\n    colour: red\n    template: x\n    schedule: {hours: ['25:00-26:00']}\n",
			[]string{`t.yaml:1: lisen: unknown field`, `t.yaml:6: campaigns[0].colour: unknown field "colour"`, `t.yaml:8: campaigns[0].schedule.hours[0]: "25:00-26:00": want a range`}},
		{"a value that did not decode is not also missing", "origin: [http://o:1, {a: b}]\ncampaigns:\n  - {id: a, slot: hero, template: [x]}\n",
			[]string{`t.yaml:1: origin[1]: want a string, got a mapping`, `t.yaml:3: campaigns[0].template: want a string, got a list`}},
		{"a weight that did not decode is not also zero", "origin: http://o:1\ncampaigns:\n  - id: a\n    slot: hero\n    template: x\n    experiment:\n      variants: [{name: b, weight: lots}]\n",
			[]string{`t.yaml:7: campaigns[0].experiment.variants[0].weight: want a number, got "lots"`}},
		{"cache without max_size", "origin: http://o:1\ncache:\n  stale_if_error: 1h\n", []string{`t.yaml:3: cache.max_size: required with a cache section`}},
		{"cache empty mapping", "origin: http://o:1\ncache: {}\n", []string{`t.yaml:2: cache.max_size: required`}},
		{"cache too small", "origin: http://o:1\ncache: {max_size: 64KiB}\n", []string{`t.yaml:2: cache.max_size: 65536: want at least 1MiB`}},
		{"cache bad size", "origin: http://o:1\ncache:\n  max_size: plenty\n", []string{`t.yaml:3: cache.max_size: "plenty": want a size`}},
		{"cache max_object over max_size", "origin: http://o:1\ncache:\n  max_size: 8MiB\n  max_object: 16MiB\n", []string{`t.yaml:4: cache.max_object: 16777216: larger than cache.max_size 8388608`}},
		{"cache max_object share out of range", "origin: http://o:1\ncache:\n  max_size: 8MiB\n  max_object: 150%\n", []string{`t.yaml:4: cache.max_object: "150%": want a share above 0% and at most 100%`}},
		{"cache max_object junk", "origin: http://o:1\ncache:\n  max_size: 8MiB\n  max_object: big\n", []string{`t.yaml:4: cache.max_object: "big": want a size such as "8MiB" or a share of max_size`}},
		{"cache negative stale_if_error", "origin: http://o:1\ncache:\n  max_size: 8MiB\n  stale_if_error: -1h\n", []string{`t.yaml:4: cache.stale_if_error: -1h0m0s: must not be negative`}},
		{"cache bad ignore_query", "origin: http://o:1\ncache:\n  max_size: 8MiB\n  ignore_query: [utm_*, 'a*b', '*', '']\n", []string{
			`cache.ignore_query[1]: "a*b": want a parameter name or a prefix ending in *`, `cache.ignore_query[2]: "*"`, `cache.ignore_query[3]: ""`}},
		{"cache unknown key", "origin: http://o:1\ncache:\n  max_size: 8MiB\n  max_objects: 1MiB\n", []string{`t.yaml:4: cache.max_objects: unknown field "max_objects" (did you mean "max_object"?)`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("t.yaml", []byte(tt.yaml))
			if err == nil {
				t.Fatal("Parse succeeded, want an error")
			}
			var errs Errors
			if !errors.As(err, &errs) {
				t.Fatalf("error %v is %T, want config.Errors", err, err)
			}
			got := err.Error()
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("got errors\n%s\nwant one containing %q", got, w)
				}
			}
			if n := len(errs); n != len(tt.want) {
				t.Errorf("got %d errors, want %d:\n%s", n, len(tt.want), got)
			}
		})
	}
}

// expYAML is a config with one experiment whose last key is extra, on line
// 7.
func expYAML(extra string) string {
	return "origin: http://o:1\ncampaigns:\n  - id: a\n    slot: hero\n    template: x\n    experiment:\n      " + extra + "\n      variants: [{name: b}]\n"
}

func TestAliasBomb(t *testing.T) {
	// Each level doubles the expansion; 30 levels is a billion values.
	var b strings.Builder
	b.WriteString("origin: http://o:1\na0: &a0 [x, x]\n")
	for i := 1; i < 30; i++ {
		b.WriteString(fmt.Sprintf("a%d: &a%d [*a%d, *a%d]\n", i, i, i-1, i-1))
	}
	b.WriteString("trusted_proxies: *a29\n")
	_, err := Parse("bomb.yaml", []byte(b.String()))
	if err == nil {
		t.Fatal("Parse succeeded on an alias bomb")
	}
}

func TestLoadErrors(t *testing.T) {
	if _, err := Load(filepath.Join(t.TempDir(), "missing.yaml")); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: got %v, want ErrNotExist", err)
	}
	big := filepath.Join(t.TempDir(), "big.yaml")
	if err := os.WriteFile(big, make([]byte, MaxFileSize+1), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(big); !errors.Is(err, ErrTooLarge) {
		t.Errorf("big file: got %v, want ErrTooLarge", err)
	}
}

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Duration
		wantErr bool
	}{
		{"0", 0, false},
		{"30s", 30 * time.Second, false},
		{"15m", 15 * time.Minute, false},
		{"24h", 24 * time.Hour, false},
		{"7d", 7 * 24 * time.Hour, false},
		{"1d12h", 36 * time.Hour, false},
		{"1.5d", 36 * time.Hour, false},
		{"-2d", -48 * time.Hour, false},
		{"250ms", 250 * time.Millisecond, false},
		{"", 0, true},
		{"d", 0, true},
		{"7", 0, true},
		{"7days", 0, true},
		{"1w", 0, true},
		{"1e400d", 0, true},
		{"..d", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseDuration(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("ParseDuration(%q): err %v, wantErr %v", tt.in, err, tt.wantErr)
			continue
		}
		if got.D() != tt.want {
			t.Errorf("ParseDuration(%q): got %v, want %v", tt.in, got.D(), tt.want)
		}
	}
	for _, d := range []Duration{7 * Day, 90 * Second, 0, 36 * Hour} {
		back, err := ParseDuration(d.String())
		if err != nil || back != d {
			t.Errorf("round trip of %v: got %v, %v", d.D(), back.D(), err)
		}
	}
}

func TestParseByteSize(t *testing.T) {
	tests := []struct {
		in      string
		want    ByteSize
		wantErr bool
	}{
		{"0", 0, false}, {"1024", 1024, false}, {"64KiB", 64 << 10, false}, {"8MiB", 8 << 20, false},
		{"1GiB", 1 << 30, false}, {"2MB", 2e6, false}, {"10 KB", 10e3, false}, {"5B", 5, false},
		{"-1", 0, true}, {"lots", 0, true}, {"MiB", 0, true}, {"99999999999999999GiB", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseByteSize(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseByteSize(%q) = %d, %v; want %d, err %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestSigningKeys(t *testing.T) {
	dir := t.TempDir()
	c := &Config{DataDir: dir}
	k1, err := c.SigningKeys()
	if err != nil {
		t.Fatal(err)
	}
	k2, err := c.SigningKeys()
	if err != nil {
		t.Fatal(err)
	}
	if len(k1) != 1 || len(k1[0]) != 32 || string(k1[0]) != string(k2[0]) {
		t.Errorf("generated key not kept in data_dir: %x vs %x", k1, k2)
	}
	fi, err := os.Stat(filepath.Join(dir, KeyFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("key file: %v, mode %v", err, fi.Mode())
	}

	mem := &Config{}
	a, _ := mem.SigningKeys()
	b, _ := mem.SigningKeys()
	if string(a[0]) == string(b[0]) {
		t.Error("in-memory config: want a fresh random key per call")
	}

	key, _ := NewKey()
	explicit := &Config{DataDir: dir, Identity: Identity{Keys: []string{key}}}
	ks, err := explicit.SigningKeys()
	if err != nil || len(ks) != 1 || string(ks[0]) == string(k1[0]) {
		t.Errorf("explicit keys: got %x, %v", ks, err)
	}

	if err := os.WriteFile(filepath.Join(dir, KeyFile), []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := c.SigningKeys(); err == nil {
		t.Error("corrupt key file accepted")
	}
}

func TestParseExperimentStats(t *testing.T) {
	c, err := Parse("t.yaml", []byte(expYAML("layer: hero-tests\n      metrics: [revenue_per_visitor, aov]\n      primary: aov\n      guardrails: [conversion]\n      analysis: fixed\n      cuped: false")))
	if err != nil {
		t.Fatal(err)
	}
	ex := *c.Campaigns[0].Experiment
	want := Experiment{ID: "a", Salt: "marquee", Layer: "hero-tests", Metrics: []string{"revenue_per_visitor", "aov"}, Primary: "aov",
		Guardrails: []string{"conversion"}, Analysis: "fixed", Variants: []Variant{{Name: "b", Weight: 1}}}
	if ex.CUPED == nil || *ex.CUPED {
		t.Errorf("cuped: got %v, want false", ex.CUPED)
	}
	ex.CUPED = nil
	if !reflect.DeepEqual(ex, want) {
		t.Errorf("got %+v\nwant %+v", ex, want)
	}
	out, err := yaml.Marshal(c.Decisions())
	if err != nil {
		t.Fatal(err)
	}
	back, err := c.WithDecisions("doc", out)
	if err != nil {
		t.Fatalf("the decisions document does not read back: %v\n%s", err, out)
	}
	if got := back.Campaigns[0].Experiment; !reflect.DeepEqual(got.Metrics, want.Metrics) || got.Layer != want.Layer || got.CUPED == nil || *got.CUPED {
		t.Errorf("round trip lost the experiment's stats keys: %+v\n%s", got, out)
	}
}

func TestPreviewURLAccepted(t *testing.T) {
	for _, u := range []string{"http://127.0.0.1:8000", "https://shop.example", "https://shop.example/", "http://[::1]:8000/shop"} {
		c, err := Parse("t.yaml", []byte("origin: http://o:1\nadmin:\n  preview_url: '"+u+"'\n"))
		if err != nil {
			t.Errorf("%s: %v", u, err)
			continue
		}
		if c.Admin.PreviewURL != u {
			t.Errorf("got preview_url %q, want %q", c.Admin.PreviewURL, u)
		}
	}
}
