package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/marquee-proxy/marquee/config"
	msync "github.com/marquee-proxy/marquee/sync"
)

const storeUsage = `
Check or repair the profile store file (DATA_DIR/profiles.db) of a node
that is not running.

  check    read every record and report each damaged stretch with its byte
           offset and key, profile records that do not decode, and a torn
           last record; exit status 1 when anything needs repair
  repair   keep every valid record: write them to a new store file after
           moving the original aside (profiles.db.damaged-TIME), then open
           it as a node would; takes the data directory's lock, so it
           refuses to run beside a node using it

The directory is -data-dir, or the data_dir of -config.`

func runStore(args []string, stdout, stderr io.Writer) int {
	sub := ""
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		sub, args = args[0], args[1:]
	}
	fs := newFlagSet("store", "check|repair [flags]", storeUsage, stderr)
	dir := fs.String("data-dir", "", "the node's data `directory`")
	cfgPath := fs.String("config", "", "config `file` whose data_dir to use")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	if code, stop := parseFlags(fs, args); stop {
		return code
	}
	if sub != "check" && sub != "repair" {
		fs.Usage()
		return 2
	}
	if *dir == "" && *cfgPath != "" {
		cfg, err := config.Load(*cfgPath)
		if err != nil {
			fmt.Fprintf(stderr, "marquee store %s: %v\n", sub, err)
			return 2
		}
		*dir = cfg.DataDir
	}
	if *dir == "" {
		fmt.Fprintf(stderr, "marquee store %s: name the data directory with -data-dir (or -config)\n", sub)
		return 2
	}
	var (
		out any
		rep *msync.FileReport
		res *msync.RepairResult
		err error
	)
	if sub == "check" {
		rep, err = msync.CheckDir(*dir)
		out = rep
	} else {
		res, err = msync.Repair(*dir, time.Now())
		if res != nil {
			rep, out = res.Report, res
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "marquee store %s: %v\n", sub, err)
		if errors.Is(err, msync.ErrLocked) {
			fmt.Fprintln(stderr, "stop the node using it first")
		}
		return 1
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.Encode(out)
	} else {
		printFileReport(stdout, rep)
		if res != nil {
			printRepair(stdout, res)
		}
	}
	if sub == "check" && !rep.Clean() {
		return 1
	}
	return 0
}

func printFileReport(w io.Writer, r *msync.FileReport) {
	fmt.Fprintf(w, "%s: %d bytes, %d records, %d keys, %d profiles\n", r.Path, r.Size, r.Commands, r.Keys, r.Profiles)
	for _, d := range r.Damage {
		fmt.Fprintf(w, "  damaged: %s\n", d)
	}
	if more := r.DamageCount - len(r.Damage); more > 0 {
		fmt.Fprintf(w, "  … and %d more damaged stretches\n", more)
	}
	if r.Undecodable > 0 {
		fmt.Fprintf(w, "  %d profile records do not decode (read as absent): %s\n", r.Undecodable, strings.Join(r.UndecodableIDs, ", "))
	}
	if r.TornTail > 0 {
		fmt.Fprintf(w, "  the last record, at byte %d, was cut off mid-write (%d bytes); opening drops it\n", r.Size-r.TornTail, r.TornTail)
	}
	if r.Clean() {
		fmt.Fprintln(w, "  clean")
	}
}

func printRepair(w io.Writer, res *msync.RepairResult) {
	if res.MovedTo == "" {
		fmt.Fprintln(w, "nothing to repair")
		return
	}
	fmt.Fprintf(w, "repaired: kept %d records; the original is at %s\n", res.Kept, res.MovedTo)
}
