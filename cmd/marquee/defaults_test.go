package main

import (
	"reflect"
	"testing"
	"time"

	"github.com/marquee-proxy/marquee/cache"
	"github.com/marquee-proxy/marquee/cluster"
	"github.com/marquee-proxy/marquee/config"
	"github.com/marquee-proxy/marquee/inject"
	"github.com/marquee-proxy/marquee/personalize"
	"github.com/marquee-proxy/marquee/proxy"
	msync "github.com/marquee-proxy/marquee/sync"
)

// TestEmptyConfigIsLibraryDefaults checks that there is one table of
// defaults: a config that names nothing but the origin, mapped onto each
// package's options by the functions serve uses, yields exactly what that
// package's Default constructor returns. A library user and a command user
// then get the same proxy, cookie, store and cluster.
func TestEmptyConfigIsLibraryDefaults(t *testing.T) {
	parse := func(text string) *config.Config {
		t.Helper()
		cfg, err := config.Parse("empty.yaml", []byte(text))
		if err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	cfg := parse("origin: http://127.0.0.1:9\n")

	t.Run("proxy", func(t *testing.T) {
		got, err := proxyOptions(cfg)
		if err != nil {
			t.Fatal(err)
		}
		want := proxy.DefaultOptions()
		want.Origins = []string{"http://127.0.0.1:9"}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("empty config gives proxy options\n%+v\nwant proxy.DefaultOptions()\n%+v", got, want)
		}
	})

	t.Run("cache", func(t *testing.T) {
		got, err := proxyOptions(parse("origin: http://127.0.0.1:9\ncache: {max_size: 64MiB, max_object: 25%, stale_if_error: 1h, ignore_query: [utm_*], x_cache_header: true}\n"))
		if err != nil {
			t.Fatal(err)
		}
		want := &cache.Options{MaxSize: 64 << 20, MaxObject: 16 << 20, StaleIfError: time.Hour, IgnoreQuery: []string{"utm_*"}}
		if !reflect.DeepEqual(got.Cache, want) || !got.XCacheHeader {
			t.Errorf("cache section gives %+v (X-Cache %v), want %+v", got.Cache, got.XCacheHeader, want)
		}
	})

	t.Run("inject", func(t *testing.T) {
		// personalize.Compile hands limits.max_rewrite_body to the compiler
		// as its body bound, zero when left out; the proxy's default and
		// the compiler's must agree, or pages between the two are read in
		// full for nothing.
		if got, want := proxy.DefaultOptions().MaxRewriteBody, inject.DefaultOptions().MaxBodySize; cfg.Limits.MaxRewriteBody != 0 || got != want {
			t.Errorf("limits.max_rewrite_body %d: proxy default %d, inject default %d", cfg.Limits.MaxRewriteBody, got, want)
		}
	})

	t.Run("personalize", func(t *testing.T) {
		got := personalizeOptions(cfg)
		want := personalize.DefaultOptions()
		// The command names this node by its host name when the config
		// does not, so that nodes of a fleet never share a name; a library
		// user names nodes itself.
		want.Node = nodeName(cfg)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("empty config gives personalize options\n%+v\nwant personalize.DefaultOptions()\n%+v", got, want)
		}
	})

	t.Run("store", func(t *testing.T) {
		got, err := storeOptions(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if want := msync.DefaultOptions(); !reflect.DeepEqual(got, want) {
			t.Errorf("empty config gives store options\n%+v\nwant sync.DefaultOptions()\n%+v", got, want)
		}
	})

	t.Run("cluster", func(t *testing.T) {
		got, err := clusterConfig(parse("origin: http://127.0.0.1:9\ncluster: {}\n"))
		if err != nil {
			t.Fatal(err)
		}
		if want := cluster.DefaultConfig(cluster.LAN); !reflect.DeepEqual(got, want) {
			t.Errorf("empty cluster section gives\n%+v\nwant cluster.DefaultConfig(cluster.LAN)\n%+v", got, want)
		}
	})
}
