package bench

import (
	"encoding/json"
	"testing"

	"github.com/marquee-proxy/marquee/personalize"

	"github.com/marquee-proxy/marquee/config"
)

func TestProxyConfigCompiles(t *testing.T) {
	key, err := config.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	for _, slots := range [][]string{{"hero", "offer", "recs"}, {"slot0"}, {`odd "name"`, "x"}} {
		text := ProxyConfig("http://127.0.0.1:8080", key, slots)
		cfg, err := config.Parse("bench.yaml", []byte(text))
		if err != nil {
			t.Fatalf("%v\n%s", err, text)
		}
		if len(cfg.Campaigns) != 3*len(slots) || cfg.Listen != "127.0.0.1:0" || cfg.DataDir != "" {
			t.Errorf("campaigns %d listen %q data_dir %q", len(cfg.Campaigns), cfg.Listen, cfg.DataDir)
		}
		if _, err := personalize.Compile(cfg); err != nil {
			t.Fatal(err)
		}
		cached, err := config.Parse("bench.yaml", []byte(text+CacheSection))
		if err != nil {
			t.Fatalf("with the cache section: %v", err)
		}
		if c := cached.Cache; c == nil || c.MaxSize <= 0 || !c.XCacheHeader {
			t.Errorf("cache section: %+v", c)
		}
		keys, err := cfg.SigningKeys()
		if err != nil || len(keys) != 1 {
			t.Fatalf("keys %d, %v", len(keys), err)
		}
		if _, err := personalize.NewSigner(keys); err != nil {
			t.Fatal(err)
		}
	}
}

func TestProfileBody(t *testing.T) {
	gold := 0
	for i := range 100 {
		var v struct {
			Attrs  map[string]any     `json:"attrs"`
			Scores map[string]float64 `json:"scores"`
		}
		if err := json.Unmarshal([]byte(ProfileBody(i)), &v); err != nil {
			t.Fatal(err)
		}
		if v.Attrs["tier"] == "gold" {
			gold++
		}
	}
	if gold != 90 {
		t.Errorf("%d gold profiles of 100, want 90", gold)
	}
}
