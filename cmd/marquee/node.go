package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"time"

	"github.com/marquee-proxy/marquee/admin"
	"github.com/marquee-proxy/marquee/internal/background"
	"github.com/marquee-proxy/marquee/personalize"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/marquee-proxy/marquee/config"
	"github.com/marquee-proxy/marquee/decide/stats"
	"github.com/marquee-proxy/marquee/proxy"
	msync "github.com/marquee-proxy/marquee/sync"
)

// node is one running marquee: store, proxy and admin API, wired from a
// config.
type node struct {
	cfg      *config.Config
	log      *slog.Logger
	store    *msync.Store
	ingest   *ingestParts
	pers     *personalize.Personalizer
	proxy    *proxy.Server
	admin    *http.Server
	proxyLn  net.Listener
	adminLn  net.Listener
	errc     chan error
	registry *prometheus.Registry
	stats    *stats.Recorder
	clu      *clusterParts
}

// nodeOptions are the choices a command makes beyond the config file.
type nodeOptions struct {
	// passthrough runs the proxy without its rewrite stage: a plain
	// reverse proxy, for side-by-side measurements and as an emergency
	// switch.
	passthrough bool
}

// startNode opens the store and starts the proxy and admin listeners. On
// failure it releases whatever it had opened.
func startNode(cfg *config.Config, snap *personalize.Snapshot, log *slog.Logger, opts nodeOptions) (n *node, err error) {
	n = &node{cfg: cfg, log: log, errc: make(chan error, 2), registry: prometheus.NewRegistry()}
	defer func() {
		if err != nil {
			n.close(context.Background())
			n = nil
		}
	}()
	n.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), background.Collector())

	n.stats = stats.NewRecorder(stats.Config{})
	keys, err := cfg.SigningKeys()
	if err != nil {
		return n, err
	}
	sopts, err := storeOptions(cfg)
	if err != nil {
		return n, err
	}
	if n.store, err = msync.Open(sopts); err != nil {
		return n, err
	}
	// Events may arrive (from Kafka) before the personaliser exists; it
	// then hands the store the catalog of whichever snapshot serves.
	n.store.SetProducts(snap.Products)
	if n.ingest, err = newIngest(cfg, n.store, n.registry, log); err != nil {
		return n, err
	}
	n.pers, err = personalize.New(personalize.Options{
		Snapshot:     snap,
		Store:        n.store,
		Keys:         keys,
		CookieName:   cfg.Identity.Cookie,
		CookieMaxAge: cfg.Identity.MaxAge.D(),
		SecureCookie: cfg.Identity.Secure,
		Logger:       log,
		Registry:     n.registry,
		Tracker:      n.ingest.tracker,
		Customer:     n.ingest.customer,
		Consent:      n.ingest.consent,
		Node:         nodeName(cfg),
		Recorder:     n.stats,
	})
	if err != nil {
		return n, err
	}
	if err := n.startCluster(); err != nil {
		return n, err
	}
	var trusted []netip.Prefix
	for _, s := range cfg.TrustedProxies {
		p, err := config.ParsePrefix(s)
		if err != nil {
			return n, err
		}
		trusted = append(trusted, p)
	}
	var rw proxy.Rewriter = n.pers
	var local proxy.LocalHandler = n.pers
	observe := n.pers.ObserveResponse
	if opts.passthrough {
		rw, local, observe = nil, nil, nil
	}
	l := cfg.Limits
	n.proxy, err = proxy.New(proxy.Options{
		Listen:          cfg.Listen,
		Origins:         cfg.Origin,
		TrustedProxies:  trusted,
		ReadTimeout:     l.ReadTimeout.D(),
		WriteTimeout:    l.WriteTimeout.D(),
		IdleTimeout:     l.IdleTimeout.D(),
		OriginTimeout:   l.OriginTimeout.D(),
		MaxHeaderBytes:  l.MaxHeaderBytes.Int(),
		MaxRequestBody:  l.MaxRequestBody.Int(),
		MaxResponseBody: l.MaxResponseBody.Int(),
		MaxRewriteBody:  l.MaxRewriteBody.Int(),
		MaxConns:        l.MaxConns,
		MaxConnsPerIP:   l.MaxConnsPerIP,
		Rewriter:        rw,
		Local:           local,
		ObserveResponse: observe,
		Logger:          log,
		Registry:        n.registry,

		StripResponseHeaders: n.ingest.strip,
	})
	if err != nil {
		return n, err
	}
	if n.proxyLn, err = net.Listen("tcp", cfg.Listen); err != nil {
		return n, fmt.Errorf("listen: %w", err)
	}
	go func() { n.errc <- n.proxy.Serve(n.proxyLn) }()

	if cfg.Admin.Listen != "off" {
		h, err := admin.New(admin.Options{Token: cfg.Admin.Token, Store: n.store, Gatherer: n.registry, Logger: log, Segments: segmentsOf(n.pers), Personalizer: n.pers,
			Stats: func() any { return n.report() }, Cluster: n.adminCluster()})
		if err != nil {
			return n, err
		}
		n.admin = &http.Server{
			Handler:           h,
			ReadHeaderTimeout: 10 * time.Second,
			ReadTimeout:       time.Minute,
			WriteTimeout:      time.Minute,
			IdleTimeout:       2 * time.Minute,
			MaxHeaderBytes:    64 << 10,
			ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		}
		if n.adminLn, err = net.Listen("tcp", cfg.Admin.Listen); err != nil {
			return n, fmt.Errorf("admin listen: %w", err)
		}
		go func() { n.errc <- n.admin.Serve(n.adminLn) }()
	}
	return n, nil
}

// proxyURL and adminURL are where the listeners ended up (ports may have
// been 0).
func (n *node) proxyURL() string { return "http://" + n.proxyLn.Addr().String() }

func (n *node) adminURL() string {
	if n.adminLn == nil {
		return ""
	}
	return "http://" + n.adminLn.Addr().String()
}

// wait blocks until ctx ends or a listener fails.
func (n *node) wait(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return nil
	case err := <-n.errc:
		if errors.Is(err, http.ErrServerClosed) || errors.Is(err, proxy.ErrServerClosed) {
			return nil
		}
		return err
	}
}

// close shuts everything down, waiting for requests in flight until ctx
// ends.
func (n *node) close(ctx context.Context) error {
	var errs []error
	if n.proxy != nil && n.proxyLn != nil {
		errs = append(errs, n.proxy.Shutdown(ctx))
	} else if n.proxyLn != nil {
		n.proxyLn.Close()
	}
	if n.admin != nil {
		errs = append(errs, n.admin.Shutdown(ctx))
	} else if n.adminLn != nil {
		n.adminLn.Close()
	}
	errs = append(errs, n.stopCluster(ctx))
	if n.ingest != nil {
		n.ingest.close()
	}
	if n.pers != nil {
		errs = append(errs, n.pers.Close(ctx))
	}
	if n.store != nil {
		errs = append(errs, n.store.Close())
	}
	return errors.Join(errs...)
}

// nodeName names this node in what it writes: the cluster node name when
// configured, else the host name.
func nodeName(cfg *config.Config) string {
	if cfg.Cluster != nil && cfg.Cluster.NodeName != "" {
		return cfg.Cluster.NodeName
	}
	if h, err := os.Hostname(); err == nil && h != "" {
		return h
	}
	return "local"
}
