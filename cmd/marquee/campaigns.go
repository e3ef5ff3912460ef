package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/marquee-proxy/marquee/internal/linediff"
)

const campaignsUsage = `
Work with the versioned campaigns of a running marquee: every decisions
document applied (PUT /v1/campaigns, the config file at start, SIGHUP, a
rollback, or received from another node) is kept with its version, time and
author.

  history            list the kept versions, newest first
  diff A B           print a unified diff of two versions' documents
  rollback VERSION   apply an old version again, as a new version
                     replicated to the fleet`

func runCampaigns(args []string, stdout, stderr io.Writer) int {
	sub := ""
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		sub, args = args[0], args[1:]
	}
	fs := newFlagSet("campaigns", "history|diff A B|rollback VERSION [flags]", campaignsUsage, stderr)
	af := addAdminFlags(fs)
	timeout := fs.Duration("timeout", 10*time.Second, "give up after this `duration`")
	asJSON := fs.Bool("json", false, "history: print the JSON as the server sent it")
	// Versions may come before or after the flags.
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if err == flag.ErrHelp {
				return 0
			}
			return 2
		}
		if fs.NArg() == 0 {
			break
		}
		pos, args = append(pos, fs.Arg(0)), fs.Args()[1:]
	}
	want := map[string]int{"history": 0, "diff": 2, "rollback": 1}
	if n, ok := want[sub]; !ok || len(pos) != n {
		fs.Usage()
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	var err error
	switch sub {
	case "history":
		err = printHistory(ctx, stdout, af.url, af.bearer(), *asJSON)
	case "diff":
		err = printDiff(ctx, stdout, af.url, af.bearer(), pos[0], pos[1])
	case "rollback":
		err = rollbackTo(ctx, stdout, af.url, af.bearer(), pos[0])
	}
	if err != nil {
		fmt.Fprintf(stderr, "marquee campaigns %s: %v\n", sub, err)
		return 1
	}
	return 0
}

// historyEntry is one version as GET /v1/campaigns/history lists it.
type historyEntry struct {
	Version   string    `json:"version"`
	Time      time.Time `json:"time"`
	By        string    `json:"by"`
	Segments  int       `json:"segments"`
	Campaigns int       `json:"campaigns"`
	Hash      string    `json:"hash"`
	Document  string    `json:"document"`
}

func printHistory(ctx context.Context, w io.Writer, admin, token string, asJSON bool) error {
	body, err := adminCall(ctx, admin, token, http.MethodGet, nil, "v1", "campaigns", "history")
	if err != nil {
		return err
	}
	if asJSON {
		_, err := w.Write(body)
		return err
	}
	var h struct{ Versions []historyEntry }
	if err := json.Unmarshal(body, &h); err != nil {
		return fmt.Errorf("decoding the history: %w", err)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VERSION\tTIME\tBY\tSEGMENTS\tCAMPAIGNS\tHASH")
	for _, e := range h.Versions {
		hash := e.Hash
		if len(hash) > 12 {
			hash = hash[:12]
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%s\n", e.Version, e.Time.Format(time.RFC3339), e.By, e.Segments, e.Campaigns, hash)
	}
	return tw.Flush()
}

// checkVersion refuses an argument that is not a version number before
// it is put in a URL.
func checkVersion(s string) error {
	if _, err := strconv.ParseUint(s, 10, 64); err != nil {
		return fmt.Errorf("%q is not a version number (see marquee campaigns history)", s)
	}
	return nil
}

func fetchVersion(ctx context.Context, admin, token, v string) (historyEntry, error) {
	var e historyEntry
	if err := checkVersion(v); err != nil {
		return e, err
	}
	body, err := adminCall(ctx, admin, token, http.MethodGet, nil, "v1", "campaigns", "history", v)
	if err != nil {
		return e, err
	}
	if err := json.Unmarshal(body, &e); err != nil {
		return e, fmt.Errorf("decoding version %s: %w", v, err)
	}
	return e, nil
}

func printDiff(ctx context.Context, w io.Writer, admin, token, a, b string) error {
	ea, err := fetchVersion(ctx, admin, token, a)
	if err != nil {
		return err
	}
	eb, err := fetchVersion(ctx, admin, token, b)
	if err != nil {
		return err
	}
	label := func(e historyEntry) string {
		return fmt.Sprintf("version %s (by %s at %s)", e.Version, e.By, e.Time.Format(time.RFC3339))
	}
	_, err = io.WriteString(w, linediff.Unified(label(ea), label(eb), ea.Document, eb.Document))
	return err
}

func rollbackTo(ctx context.Context, w io.Writer, admin, token, v string) error {
	if err := checkVersion(v); err != nil {
		return err
	}
	body, err := adminCall(ctx, admin, token, http.MethodPost, strings.NewReader(`{"version": "`+v+`"}`), "v1", "campaigns", "rollback")
	if err != nil {
		return err
	}
	var out struct {
		HistoryVersion string `json:"history_version"`
		Segments       int    `json:"segments"`
		Campaigns      int    `json:"campaigns"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		return fmt.Errorf("decoding the answer: %w", err)
	}
	_, err = fmt.Fprintf(w, "rolled back to version %s: now serving version %s (%d segments, %d campaigns)\n", v, out.HistoryVersion, out.Segments, out.Campaigns)
	return err
}
