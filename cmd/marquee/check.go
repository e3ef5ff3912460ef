package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/marquee-proxy/marquee/config"
)

func runCheck(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("check", "-config FILE", `
Validate a config file: strict YAML decoding, addresses, keys, segment and
campaign expressions, offer templates and slot selectors. Every problem is
printed as FILE:LINE: FIELD: reason. Exits 1 when there is any.`, stderr)
	path := fs.String("config", "marquee.yaml", "config `file` to check")
	if code, stop := parseFlags(fs, args); stop {
		return code
	}
	cfg, _, err := loadConfig(*path)
	if err != nil {
		printConfigError(stderr, err)
		return 1
	}
	for _, w := range cfg.Warnings() {
		fmt.Fprintln(stderr, "warning:", w)
	}
	fmt.Fprintf(stdout, "%s: ok (%d segments, %d campaigns, %d selector slots)\n",
		*path, len(cfg.Segments), len(cfg.Campaigns), len(cfg.Slots))
	return 0
}

// printConfigError prints each located problem on its own line.
func printConfigError(w io.Writer, err error) {
	var errs config.Errors
	if errors.As(err, &errs) {
		for _, e := range errs {
			fmt.Fprintln(w, e)
		}
		return
	}
	fmt.Fprintln(w, err)
}
