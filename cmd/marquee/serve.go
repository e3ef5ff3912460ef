package main

import (
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/marquee-proxy/marquee/config"
)

func runServe(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("serve", "-config FILE", `
Run the proxy in front of the origin named in the config file, with the
admin API on its own listener. A config with any problem is refused with the
same messages "marquee check" prints.`, stderr)
	path := fs.String("config", "marquee.yaml", "config `file`")
	if code, stop := parseFlags(fs, args); stop {
		return code
	}
	cfg, err := loadConfig(*path)
	if err != nil {
		printConfigError(stderr, err)
		fmt.Fprintln(stderr, "marquee serve: not starting: the config has problems")
		return 1
	}
	log := newLogger(cfg.Log, stderr)
	for _, w := range cfg.Warnings() {
		log.Warn(w.Error())
	}
	log.Error("marquee serve: the proxy is not part of this build yet")
	return 1
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
