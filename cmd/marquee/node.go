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
	"github.com/marquee-proxy/marquee/cache"
	"github.com/marquee-proxy/marquee/cluster"
	"github.com/marquee-proxy/marquee/internal/background"
	"github.com/marquee-proxy/marquee/opstate"
	"github.com/marquee-proxy/marquee/personalize"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/marquee-proxy/marquee/config"
	"github.com/marquee-proxy/marquee/decide/stats"
	"github.com/marquee-proxy/marquee/export"
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
	// exporter streams exposures and conversions out; nil without an
	// export section.
	exporter *export.Exporter
	clu      *clusterParts
	// cache is the node's edge cache, which purges reach; nil: off.
	cache edgeCache
	// campaigns records every decisions document the node serves.
	campaigns *campaignLog
	// stopHistory stops sampling the metrics the console charts; nil
	// without an admin listener.
	stopHistory func()
	// stopSaver stops the periodic save of the counters and saves them a
	// last time; nil without a data_dir.
	stopSaver func()
	// audit records the admin API's writes; nil with the admin API off.
	audit *opstate.Audit
}

// nodeOptions are the choices a command makes beyond the config file.
type nodeOptions struct {
	// passthrough runs the proxy without its rewrite stage: a plain
	// reverse proxy, for side-by-side measurements and as an emergency
	// switch.
	passthrough bool
	// cache, when set, is the node's edge cache (tests give a fake one).
	// Nil: the node caches nothing.
	cache edgeCache
}

// edgeCache is the node's edge cache as the admin API and the cluster
// reach it: to purge it.
type edgeCache interface {
	admin.Cache
	cluster.Cache
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

	// The experiment counters' days are the profiles' days: time_zone,
	// which validation has already loaded once.
	loc, _ := time.LoadLocation(cfg.TimeZone)
	n.stats = stats.NewRecorder(stats.Config{Location: loc})
	if err := restoreStats(cfg, n.stats, log); err != nil {
		return n, fmt.Errorf("stats: %w", err)
	}
	keys, err := cfg.SigningKeys()
	if err != nil {
		return n, err
	}
	sopts, err := storeOptions(cfg)
	if err != nil {
		return n, err
	}
	sopts.Logger = log
	if n.store, err = msync.Open(sopts); err != nil {
		return n, err
	}
	hist, snap, err := openCampaigns(cfg, snap, n.store.Clock(), log)
	if err != nil {
		return n, err
	}
	// Events may arrive (from Kafka) before the personaliser exists; it
	// then hands the store the catalog of whichever snapshot serves.
	n.store.SetProducts(snap.Products)
	if n.ingest, err = newIngest(cfg, n.store, n.registry, log); err != nil {
		return n, err
	}
	eopts, err := exportOptions(cfg)
	if err != nil {
		return n, fmt.Errorf("export: %w", err)
	}
	if eopts != nil {
		eopts.Logger, eopts.Registry = log, n.registry
		if n.exporter, err = export.New(*eopts); err != nil {
			return n, err
		}
	}
	// The admin listener first: a page preview names the console's origin,
	// port included, as the one that may frame it.
	if cfg.Admin.Listen != "off" {
		if n.adminLn, err = net.Listen("tcp", cfg.Admin.Listen); err != nil {
			return n, fmt.Errorf("admin listen: %w", err)
		}
	}
	popts := personalizeOptions(cfg)
	if n.adminLn != nil {
		popts.PreviewFrameAncestors = admin.ConsoleFrameSources(cfg.Admin.Listen, n.adminLn.Addr().(*net.TCPAddr).Port)
	}
	popts.Snapshot, popts.Store, popts.Keys, popts.Exporter = snap, n.store, keys, n.exporter
	popts.Logger, popts.Registry, popts.Recorder = log, n.registry, n.stats
	popts.Tracker, popts.Customer, popts.Consent = n.ingest.tracker, n.ingest.customer, n.ingest.consent
	if n.pers, err = personalize.New(popts); err != nil {
		return n, err
	}
	n.campaigns = &campaignLog{hist: hist, pers: n.pers, clock: n.store.Clock(), log: log}
	n.startStatsSaver()
	if err := n.startCluster(); err != nil {
		return n, err
	}
	po, err := proxyOptions(cfg)
	if err != nil {
		return n, err
	}
	if !opts.passthrough {
		po.Rewriter, po.Local, po.ObserveResponse = n.pers, n.pers, n.pers.ObserveResponse
	}
	po.Logger, po.Registry, po.StripResponseHeaders = log, n.registry, n.ingest.strip
	// A preview token is the proxy's business; the origin never sees it,
	// nor logs it, in the query.
	po.StripQueryParams = []string{personalize.PreviewParam}
	if n.proxy, err = proxy.New(po); err != nil {
		return n, err
	}
	if n.proxyLn, err = net.Listen("tcp", po.Listen); err != nil {
		return n, fmt.Errorf("listen: %w", err)
	}
	go func() { n.errc <- n.proxy.Serve(n.proxyLn) }()

	ec := opts.cache
	if pc := n.proxy.Cache(); ec == nil && pc != nil {
		ec = pc
	}
	n.useCache(ec)
	if n.adminLn != nil {
		tokens, err := adminTokens(cfg)
		if err != nil {
			return n, err
		}
		if n.audit, err = openAudit(cfg, n.registry, log); err != nil {
			return n, err
		}
		hist := admin.NewMetricsHistory(n.registry, 0, 0)
		n.stopHistory = hist.Start(log)
		h, err := admin.New(admin.Options{Token: cfg.Admin.Token, Tokens: tokens, Audit: n.audit, Store: n.store, Gatherer: n.registry, Logger: log, Segments: segmentsOf(n.pers), Personalizer: n.pers,
			Stats: func() any { return n.report() }, Cluster: n.adminCluster(), Campaigns: n.campaigns,
			Cache: n.adminCache(), Purges: n.purgePublisher(), History: hist,
			PreviewURL: previewURL(cfg, n.proxyLn.Addr())})
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
		go func() { n.errc <- n.admin.Serve(n.adminLn) }()
	}
	return n, nil
}

// adminTokens are admin.tokens as the admin API takes them.
func adminTokens(cfg *config.Config) ([]admin.Token, error) {
	var out []admin.Token
	for _, t := range cfg.Admin.Tokens {
		role, err := admin.ParseRole(t.Role)
		if err != nil {
			return nil, err
		}
		out = append(out, admin.Token{Name: t.Name, Token: t.Token, Role: role})
	}
	return out, nil
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

// previewURL is admin.preview_url or, by default, the proxy's address
// when listen names a host: "http://" and that host with the port the
// proxy got. Empty when listen is on every address, whose name browsers
// use marquee cannot know.
func previewURL(cfg *config.Config, proxyAddr net.Addr) string {
	if cfg.Admin.PreviewURL != "" {
		return cfg.Admin.PreviewURL
	}
	host, _, err := net.SplitHostPort(cfg.Listen)
	if err != nil || host == "" {
		return ""
	}
	if a, err := netip.ParseAddr(host); err == nil && a.IsUnspecified() {
		return ""
	}
	_, port, err := net.SplitHostPort(proxyAddr.String())
	if err != nil {
		return ""
	}
	return "http://" + net.JoinHostPort(host, port)
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
	if n.stopHistory != nil {
		n.stopHistory()
	}
	if n.audit != nil {
		errs = append(errs, n.audit.Close()) // after the admin API's last call
	}
	errs = append(errs, n.stopCluster(ctx))
	if n.stopSaver != nil {
		n.stopSaver() // after the proxy: the last exposures are in
	}
	if n.ingest != nil {
		errs = append(errs, n.ingest.close(ctx))
	}
	if n.pers != nil {
		errs = append(errs, n.pers.Close(ctx))
	}
	if n.exporter != nil {
		// After the write queue: it exports the conversions it stores.
		errs = append(errs, n.exporter.Shutdown(ctx))
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

// proxyOptions maps the config's listener, origins, trusted proxies and
// limits onto proxy.Options, starting from proxy.DefaultOptions so that
// every field the config does not name keeps the library's default. The
// caller adds the rewrite stage, logger and registry.
func proxyOptions(cfg *config.Config) (proxy.Options, error) {
	o := proxy.DefaultOptions()
	set(&o.Listen, cfg.Listen)
	o.Origins = cfg.Origin
	for _, s := range cfg.TrustedProxies {
		p, err := config.ParsePrefix(s)
		if err != nil {
			return o, err
		}
		o.TrustedProxies = append(o.TrustedProxies, p)
	}
	l := cfg.Limits
	set(&o.HeaderTimeout, l.HeaderTimeout.D())
	set(&o.ReadTimeout, l.ReadTimeout.D())
	set(&o.WriteTimeout, l.WriteTimeout.D())
	set(&o.IdleTimeout, l.IdleTimeout.D())
	set(&o.OriginTimeout, l.OriginTimeout.D())
	set(&o.MaxHeaderBytes, l.MaxHeaderBytes.Int())
	set(&o.MaxRequestBody, l.MaxRequestBody.Int())
	set(&o.MaxResponseBody, l.MaxResponseBody.Int())
	set(&o.MaxRewriteBody, l.MaxRewriteBody.Int())
	set(&o.MaxConns, l.MaxConns)
	set(&o.MaxConnsPerIP, l.MaxConnsPerIP)
	if cc := cfg.Cache; cc != nil {
		o.Cache = &cache.Options{
			MaxSize:            int64(cc.MaxSize),
			MaxObject:          int64(cc.MaxObject.Of(cc.MaxSize)),
			StaleIfError:       cc.StaleIfError.D(),
			IgnoreQuery:        cc.IgnoreQuery,
			HonorClientNoCache: cc.HonorClientNoCache,
		}
		o.XCacheHeader = cc.XCacheHeader
	}
	return o, nil
}

// set overwrites *dst with v unless v is zero: a config field left out
// keeps the package's default.
func set[T comparable](dst *T, v T) {
	var zero T
	if v != zero {
		*dst = v
	}
}

// personalizeOptions maps the config's identity section onto
// personalize.Options, starting from personalize.DefaultOptions. The
// caller adds the snapshot, store, keys and observers.
func personalizeOptions(cfg *config.Config) personalize.Options {
	o := personalize.DefaultOptions()
	o.CookieName = cfg.Identity.Cookie
	o.CookieMaxAge = cfg.Identity.MaxAge.D()
	o.SecureCookie = cfg.Identity.Secure
	o.Node = nodeName(cfg)
	return o
}
