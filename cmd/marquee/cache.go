package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

const cacheUsage = `
Work with the edge cache of a running marquee.

  purge   drop cached pages named by URL, prefix or tag, or all of them,
          on the node asked and, through its cluster, on every node; only
          entries fetched before the purge (or before -at) are dropped

A URL or prefix is a path (/p/1, on every host) or an absolute http(s)
URL (that scheme and host, port included, as clients send Host); a tag
is one of the origin's Surrogate-Key or Cache-Tag values. -url, -prefix
and -tag may be repeated. A URL matches its query exactly: -url /p/1
leaves /p/1?color=red; -prefix /p/1 drops both. A prefix is a plain
string prefix: -prefix /c drops /c/shoes and /cart too; end it with /
to mean a directory.`

// listFlag collects the values of a repeated flag.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, " ") }

// Set adds one value.
func (l *listFlag) Set(s string) error {
	*l = append(*l, s)
	return nil
}

func runCache(args []string, stdout, stderr io.Writer) int {
	sub := ""
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		sub, args = args[0], args[1:]
	}
	fs := newFlagSet("cache", "purge [-url U]... [-prefix P]... [-tag T]... [-all] [flags]", cacheUsage, stderr)
	af := addAdminFlags(fs)
	timeout := fs.Duration("timeout", 10*time.Second, "give up after this `duration`")
	var urls, prefixes, tags listFlag
	fs.Var(&urls, "url", "purge this `URL` (repeatable)")
	fs.Var(&prefixes, "prefix", "purge every URL starting with this `prefix` (repeatable)")
	fs.Var(&tags, "tag", "purge every entry carrying this `tag` (repeatable)")
	all := fs.Bool("all", false, "purge every entry")
	at := fs.String("at", "", "drop only entries fetched before this RFC 3339 `time` (default: when the node receives the purge)")
	if code, stop := parseFlags(fs, args); stop {
		return code
	}
	if sub != "purge" {
		fs.Usage()
		return 2
	}
	if len(urls)+len(prefixes)+len(tags) == 0 && !*all {
		fmt.Fprintln(stderr, "marquee cache purge: name what to purge with -url, -prefix or -tag, or purge everything with -all")
		return 2
	}
	if *at != "" {
		if _, err := time.Parse(time.RFC3339Nano, *at); err != nil {
			fmt.Fprintf(stderr, "marquee cache purge: -at %q: want an RFC 3339 time, e.g. 2026-12-07T06:00:00Z\n", *at)
			return 2
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	req := struct {
		URLs     []string `json:"urls,omitempty"`
		Prefixes []string `json:"prefixes,omitempty"`
		Tags     []string `json:"tags,omitempty"`
		All      bool     `json:"all,omitempty"`
		At       string   `json:"at,omitempty"`
	}{urls, prefixes, tags, *all, *at}
	if err := purgeCache(ctx, stdout, af.url, af.bearer(), req); err != nil {
		fmt.Fprintln(stderr, "marquee cache purge:", err)
		return 1
	}
	return 0
}

// purgeCache posts body to admin's POST /v1/cache/purge and prints the
// answer.
func purgeCache(ctx context.Context, w io.Writer, admin, token string, body any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	out, err := adminCall(ctx, admin, token, http.MethodPost, bytes.NewReader(b), "v1", "cache", "purge")
	if err != nil {
		return err
	}
	var ans struct {
		Dropped          int       `json:"dropped"`
		Replicated       bool      `json:"replicated"`
		ReplicationError string    `json:"replication_error"`
		At               time.Time `json:"at"`
	}
	if err := json.Unmarshal(out, &ans); err != nil {
		return fmt.Errorf("decoding the answer: %w", err)
	}
	where := "sent to every node of the fleet"
	switch {
	case ans.ReplicationError != "":
		where = "NOT replicated, other nodes keep their entries (purge again): " + ans.ReplicationError
	case !ans.Replicated:
		where = "not replicated: the node is not in a cluster"
	}
	_, err = fmt.Fprintf(w, "dropped %d entries fetched before %s on %s; %s\n", ans.Dropped, ans.At.Format(time.RFC3339Nano), admin, where)
	return err
}
