package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/marquee-proxy/marquee/personalize"

	"github.com/marquee-proxy/marquee/config"
)

// shutdownGrace bounds how long requests in flight may finish on exit.
const shutdownGrace = 10 * time.Second

func runServe(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("serve", "-config FILE", `
Run the proxy in front of the origin named in the config file, with the
admin API on its own listener. A config with any problem is refused with the
same messages "marquee check" prints.

SIGHUP reloads segments, campaigns and slots from the same file; a file
with problems is refused and the running configuration keeps serving.
SIGINT or SIGTERM shut down gracefully.`, stderr)
	path := fs.String("config", "marquee.yaml", "config `file`")
	passthrough := fs.Bool("passthrough", false, "serve as a plain reverse proxy, personalising nothing (for comparisons, or to switch personalisation off in an emergency)")
	if code, stop := parseFlags(fs, args); stop {
		return code
	}
	cfg, snap, err := loadConfig(*path)
	if err != nil {
		printConfigError(stderr, err)
		fmt.Fprintln(stderr, "marquee serve: not starting: the config has problems")
		return 1
	}
	log := newLogger(cfg.Log, stderr)
	for _, w := range cfg.Warnings() {
		log.Warn(w.Error())
	}
	n, err := startNode(cfg, snap, log, nodeOptions{passthrough: *passthrough})
	if err != nil {
		log.Error("marquee serve: cannot start", "err", err)
		return 1
	}
	log.Info("marquee serving", "proxy", n.proxyURL(), "origin", strings.Join(cfg.Origin, ","), "admin", n.adminURL(), "passthrough", *passthrough)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for range hup {
			reload(n, *path, log)
		}
	}()

	err = n.wait(ctx)
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if cerr := n.close(sctx); cerr != nil {
		log.Warn("marquee serve: shutdown", "err", cerr)
	}
	if err != nil {
		log.Error("marquee serve: stopped", "err", err)
		return 1
	}
	log.Info("marquee serve: stopped")
	return 0
}

// reload swaps in the segments, campaigns and slots of the file at path.
// Listeners, limits, keys and the store stay as they started.
func reload(n *node, path string, log *slog.Logger) {
	_, snap, err := loadConfig(path)
	if err != nil {
		log.Error("reload refused; the running configuration keeps serving", "err", err)
		return
	}
	if err := n.campaigns.reload(snap); err != nil {
		log.Error("reload refused; the running configuration keeps serving", "err", err)
		return
	}
	log.Info("reloaded", "segments", len(snap.Config.Segments), "campaigns", len(snap.Config.Campaigns))
}

func newLogger(c config.Log, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(strings.ToUpper(c.Level)))
	opts := &slog.HandlerOptions{Level: level}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// loadConfig reads the file at path and compiles every part of it, so that
// check, serve and reload accept and reject exactly the same files.
func loadConfig(path string) (*config.Config, *personalize.Snapshot, error) {
	cfg, err := config.LoadPartial(path)
	if cfg == nil {
		return nil, nil, err
	}
	if err == nil {
		err = checkListeners(cfg)
	}
	// Compiled even when the file has problems, to report those of its
	// expressions, templates and selectors with them.
	snap, err := personalize.CompilePartial(cfg, err)
	if err != nil {
		return nil, nil, err
	}
	return cfg, snap, nil
}

// checkListeners refuses an admin listener on the public address, which
// is known only once the proxy's default fills a listen left out.
func checkListeners(cfg *config.Config) error {
	po, err := proxyOptions(cfg)
	if err != nil {
		return err
	}
	if cfg.Admin.Listen != "off" && cfg.Admin.Listen == po.Listen && !strings.HasSuffix(po.Listen, ":0") {
		return config.Errors{cfg.Errorf("admin.listen", "%q is also the public listen address", cfg.Admin.Listen)}
	}
	return nil
}
