package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strconv"
	"time"

	"github.com/marquee-proxy/marquee/config"
	"github.com/marquee-proxy/marquee/internal/demo"
)

// runDemoCluster is `marquee demo -nodes N` for N > 1: N nodes in this
// process, clustered over loopback and encrypted, each with its own proxy
// and admin port (the next ports up from -listen and -admin), all in
// front of the one demo shop. Profiles are seeded on node 1 and reach the
// others by the cluster. It runs until ctx ends.
func runDemoCluster(ctx context.Context, stdout, stderr io.Writer, count int, listen, admin, shop, catalog string, profiles int) int {
	signKey, err := config.NewKey()
	if err != nil {
		fmt.Fprintln(stderr, "marquee demo:", err)
		return 1
	}
	gossipKey, err := config.NewKey()
	if err != nil {
		fmt.Fprintln(stderr, "marquee demo:", err)
		return 1
	}
	log := newLogger(config.Log{Level: "warn"}, stderr)
	var nodes []*node
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
		defer cancel()
		for _, n := range nodes {
			n.close(ctx)
		}
	}()
	seed := "[]"
	for i := range count {
		cfgText := fmt.Sprintf("listen: %s\norigin: http://%s\nadmin:\n  listen: %s\n%scatalog_dir: %s\ncatalog: %s\n%s\nidentity:\n  keys: [%q]\ncluster:\n  name: marquee-demo\n  node_name: node%d\n  bind: 127.0.0.1:0\n  join: %s\n  preset: local\n  secret_keys: [%q]\n",
			strconv.Quote(shiftPort(listen, i)), shop, strconv.Quote(shiftPort(admin, i)), demoPreviewURL(shiftPort(listen, i)), strconv.Quote(filepath.Dir(catalog)), strconv.Quote(catalog), demo.Config(),
			signKey, i+1, seed, gossipKey)
		n, err := startDemoNode(cfgText, log)
		if err != nil {
			fmt.Fprintln(stderr, "marquee demo:", err, "(pick other addresses with -listen and -admin)")
			return 1
		}
		nodes = append(nodes, n)
		if i == 0 {
			seed = strconv.Quote(n.clu.c.Addr())
			seed = "[" + seed + "]"
		}
	}
	named := demo.NamedSeeds()
	seeds := append(named, demo.GeneratedSeeds(profiles, 1)...)
	if err := loadSeeds(ctx, nodes[0].store, seeds, time.Now()); err != nil {
		fmt.Fprintln(stderr, "marquee demo: seeding profiles:", err)
		return 1
	}
	if ctx.Err() != nil {
		return 0
	}
	printDemo(stdout, nodes[0], shop, named, len(seeds))
	fmt.Fprintf(stdout, "\n%d nodes, clustered (profiles were loaded on node 1 and replicated):\n\n", count)
	for i, n := range nodes {
		fmt.Fprintf(stdout, "  node %d  shop %s/  admin %s/v1/profiles/{id}  members %s/v1/cluster\n", i+1, n.proxyURL(), n.adminURL(), n.adminURL())
	}
	if len(named) > 0 {
		last := nodes[len(nodes)-1]
		fmt.Fprintf(stdout, `
  # change a profile on node 1 and watch it appear on node %d
  curl -s -X PUT %s/v1/profiles/%s -d '{"attrs":{"tier":"gold","name":"Changed on node 1"}}'
  curl -s %s/v1/profiles/%s

`, len(nodes), nodes[0].adminURL(), named[0].ID, last.adminURL(), named[0].ID)
	}

	errc := make(chan error, len(nodes))
	for _, n := range nodes {
		go func() { errc <- n.wait(ctx) }()
	}
	if err := <-errc; err != nil {
		fmt.Fprintln(stderr, "marquee demo:", err)
		return 1
	}
	return 0
}

// shiftPort returns host:port with port+i; port 0 stays 0 (a free port).
func shiftPort(hostport string, i int) string {
	h, p, err := net.SplitHostPort(hostport)
	if err != nil {
		return hostport
	}
	n, err := strconv.Atoi(p)
	if err != nil || n == 0 {
		return hostport
	}
	return net.JoinHostPort(h, strconv.Itoa(n+i))
}
