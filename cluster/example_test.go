package cluster_test

import (
	"context"
	"log/slog"

	"github.com/marquee-proxy/marquee/cluster"
	"github.com/marquee-proxy/marquee/profile"
	msync "github.com/marquee-proxy/marquee/sync"
)

func ExampleNew() {
	store, err := msync.Open(msync.Options{Node: "edge-1"})
	if err != nil {
		panic(err)
	}
	defer store.Close()
	cfg := cluster.DefaultConfig(cluster.LAN)
	cfg.Name = "shop"
	cfg.NodeName = "edge-1"
	cfg.BindAddr, cfg.BindPort = "127.0.0.1", 0
	cfg.Join = []string{"10.0.0.2:7946", "10.0.0.3:7946"} // retried in the background
	c, err := cluster.New(cfg, store, nil, "v1.0.0", slog.Default())
	if err != nil {
		panic(err)
	}
	defer c.Shutdown(context.Background())
	// From here on every local change of store reaches the other nodes.
	_, _ = store.Update("visitor-1", func(p *profile.Profile) error {
		p.Attrs = map[string]any{"tier": "gold"}
		return nil
	})
}
