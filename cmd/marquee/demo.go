package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/marquee-proxy/marquee/personalize"
	"github.com/marquee-proxy/marquee/profile"

	"github.com/marquee-proxy/marquee/config"
	"github.com/marquee-proxy/marquee/decide"
	"github.com/marquee-proxy/marquee/internal/demo"
	msync "github.com/marquee-proxy/marquee/sync"
)

func runDemo(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("demo", "[flags]", `
Run a demo shop with marquee in front of it: the shop (origin), the proxy,
the admin API, five named visitor profiles plus generated ones, and
campaigns. Prints the URLs to open and five curl lines, one per named
visitor, each getting a different page. Needs no config; everything is in
memory. Runs in the foreground until Ctrl-C.`, stderr)
	listen := fs.String("listen", "127.0.0.1:8000", "proxy `address` (port 0 picks a free one)")
	adminAddr := fs.String("admin", "127.0.0.1:9000", "admin API `address`")
	shopAddr := fs.String("shop", "127.0.0.1:8080", "demo shop (origin) `address`")
	profiles := fs.Int("profiles", 5000, "generated profiles to load besides the named ones")
	nodes := fs.Int("nodes", 1, "`N` nodes clustered on loopback, each with its own proxy and admin port (the next ones up), so a profile changed on one shows on the others")
	if code, stop := parseFlags(fs, args); stop {
		return code
	}

	// Signals are caught from the start, not once the node runs: Ctrl-C
	// while the profiles load would otherwise end the process before the
	// deferred clean-up removes the temporary directory.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	shopLn, err := net.Listen("tcp", *shopAddr)
	if err != nil {
		fmt.Fprintln(stderr, "marquee demo: demo shop:", err, "(pick another address with -shop)")
		return 1
	}
	shop := &http.Server{Handler: demo.NewShop(), ReadHeaderTimeout: 10 * time.Second}
	go shop.Serve(shopLn)
	defer shop.Close()

	tmp, err := os.MkdirTemp("", "marquee-demo-")
	if err != nil {
		fmt.Fprintln(stderr, "marquee demo:", err)
		return 1
	}
	defer os.RemoveAll(tmp)
	catalog := filepath.Join(tmp, "catalog.json")
	if err := os.WriteFile(catalog, demo.CatalogJSON(), 0o600); err != nil {
		fmt.Fprintln(stderr, "marquee demo:", err)
		return 1
	}
	if *nodes > 1 {
		return runDemoCluster(ctx, stdout, stderr, *nodes, *listen, *adminAddr, shopLn.Addr().String(), catalog, *profiles)
	}
	cfgText := fmt.Sprintf("listen: %s\norigin: http://%s\nadmin:\n  listen: %s\n%scatalog_dir: %s\ncatalog: %s\n%s",
		strconv.Quote(*listen), shopLn.Addr(), strconv.Quote(*adminAddr), demoPreviewURL(*listen), strconv.Quote(tmp), strconv.Quote(catalog), demo.Config())
	log := newLogger(config.Log{Level: "warn"}, stderr)
	n, err := startDemoNode(cfgText, log)
	if err != nil {
		fmt.Fprintln(stderr, "marquee demo:", err, "(pick other addresses with -listen and -admin)")
		return 1
	}
	named := demo.NamedSeeds()
	seeds := append(named, demo.GeneratedSeeds(*profiles, 1)...)
	if err := loadSeeds(ctx, n.store, seeds, time.Now()); err != nil {
		fmt.Fprintln(stderr, "marquee demo: seeding profiles:", err)
		n.close(context.Background())
		return 1
	}
	if ctx.Err() == nil {
		printDemo(stdout, n, shopLn.Addr().String(), named, len(seeds))
	}
	err = n.wait(ctx)
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	n.close(sctx)
	if err != nil {
		fmt.Fprintln(stderr, "marquee demo:", err)
		return 1
	}
	return 0
}

// demoPreviewURL returns the admin.preview_url line of a demo node whose
// proxy listens on listen: the shop as a browser on this machine reaches
// it, for the campaign editor's page previews. Empty when the port is 0:
// the node then derives it from the port its listener got.
func demoPreviewURL(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil || port == "0" {
		return ""
	}
	if a, err := netip.ParseAddr(host); host == "" || (err == nil && a.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return "  preview_url: " + strconv.Quote("http://"+net.JoinHostPort(host, port)) + "\n"
}

// seedBody is the part of a profile the demo seeds carry.
type seedBody struct {
	Attrs  map[string]any     `json:"attrs"`
	Scores map[string]float64 `json:"scores"`
}

// abandonedCarts are the named visitors who left something in their cart
// two hours before the demo started, to show the cart reminder.
var abandonedCarts = map[string][]profile.CartItem{
	"Dev": {{Product: "nova-ereader", Qty: 1, Price: 129}, {Product: "trail-headlamp", Qty: 2, Price: 34}},
}

// seedViews is how many views of their favourite category each seeded
// visitor made the day before the demo started: browsing history, so that
// recommendations have something to go by from the first page.
const seedViews = 3

// loadSeeds stores the seeds' profiles. It stops early, without an error,
// when ctx ends: the demo is being stopped.
func loadSeeds(ctx context.Context, st *msync.Store, seeds []demo.Seed, now time.Time) error {
	yesterday := decide.DayIndex(now.AddDate(0, 0, -1), time.UTC) // the demo config sets no time_zone
	for _, s := range seeds {
		if ctx.Err() != nil {
			return nil
		}
		var b seedBody
		if err := json.Unmarshal(s.Body, &b); err != nil {
			return fmt.Errorf("seed %s: %w", s.ID, err)
		}
		if _, err := st.Update(s.ID, func(p *profile.Profile) error {
			p.Attrs, p.Scores = b.Attrs, b.Scores
			if fav, ok := b.Attrs["favourite"].(string); ok && fav != "" {
				p.Views = map[string][]profile.DayCount{fav: {{Day: yesterday, Count: seedViews}}}
			}
			if items, ok := abandonedCarts[s.Name]; ok {
				p.Cart = profile.Cart{Items: items, UpdatedAt: now.Add(-2 * time.Hour)}
			}
			return nil
		}); err != nil {
			return err
		}
	}
	return nil
}

func printDemo(w io.Writer, n *node, shop string, named []demo.Seed, total int) {
	site := n.proxyURL()
	fmt.Fprintf(w, `marquee demo is running.

  shop through marquee  %s/
  shop without marquee  http://%s/   (the origin, for comparison)
  operator console      %s/   (charts, campaign editor, profiles, audit log)
  admin API             %s/v1/profiles/{id}   (metrics at %s/metrics)

%d profiles loaded. Open the shop in a browser: you are a new visitor and see
the shop's own banners. Then see the pages of the named visitors, or make
yourself gold and reload:

`, site, shop, n.adminURL(), n.adminURL(), n.adminURL(), total)
	signer := n.pers.Signer()
	for _, s := range named {
		cookie, err := signer.Sign(s.ID)
		if err != nil {
			continue
		}
		fmt.Fprintf(w, "  # %s\n  curl -s -b 'mq_vid=%s' %s/ | grep -A2 'data-marquee-slot=\"hero\"'\n\n", s.Name, cookie, site)
	}
	if len(named) > 0 {
		fmt.Fprintf(w, "  # %s's profile\n  curl -s %s/v1/profiles/%s\n\n", named[0].Name, n.adminURL(), named[0].ID)
	}
	fmt.Fprintf(w, `  # make yourself gold: VISITOR is your mq_vid cookie up to the first dot
  curl -s -X PUT %s/v1/profiles/VISITOR -d '{"attrs":{"tier":"gold","name":"You"}}'

`, n.adminURL())
	fmt.Fprintln(w, "Press Ctrl-C to stop.")
}

// startDemoNode starts a node from one of the demo's built-in configs.
func startDemoNode(cfgText string, log *slog.Logger) (*node, error) {
	cfg, err := config.Parse("demo.yaml", []byte(cfgText))
	if err != nil {
		return nil, fmt.Errorf("built-in config: %w", err)
	}
	snap, err := personalize.Compile(cfg)
	if err != nil {
		return nil, fmt.Errorf("built-in config: %w", err)
	}
	return startNode(cfg, snap, log, nodeOptions{})
}
