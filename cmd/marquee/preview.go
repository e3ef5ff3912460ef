package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

func runPreview(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("preview", "-campaign ID [flags]", `
Mint a signed preview link for a running marquee: opening a page with it
shows the chosen campaign and variant in its slot, whatever the visitor's
profile, without counting an exposure. For QA before a campaign goes live.`, stderr)
	af := addAdminFlags(fs)
	campaign := fs.String("campaign", "", "campaign `id` to show (required)")
	variant := fs.String("variant", "", "experiment variant `name` (default: the first)")
	ttl := fs.String("ttl", "1h", "how long the link works, up to 30d")
	page := fs.String("url", "", "page `URL` to print the link for, e.g. http://127.0.0.1:8000/")
	if code, stop := parseFlags(fs, args); stop {
		return code
	}
	if *campaign == "" {
		fmt.Fprintln(stderr, "marquee preview: -campaign is required")
		return 2
	}
	body, _ := json.Marshal(map[string]string{"campaign": *campaign, "variant": *variant, "ttl": *ttl})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := adminCall(ctx, af.url, af.bearer(), http.MethodPost, bytes.NewReader(body), "v1", "preview")
	if err != nil {
		fmt.Fprintln(stderr, "marquee preview:", err)
		return 1
	}
	var res struct {
		Token, Query, Header, Expires string
	}
	if err := json.Unmarshal(out, &res); err != nil {
		fmt.Fprintln(stderr, "marquee preview: decoding the answer:", err)
		return 1
	}
	if *page != "" {
		u, err := url.Parse(*page)
		if err != nil {
			fmt.Fprintf(stderr, "marquee preview: -url %q: %v\n", *page, err)
			return 2
		}
		q := u.Query()
		q.Set("mq_preview", res.Token)
		u.RawQuery = q.Encode()
		fmt.Fprintln(stdout, u.String())
	} else {
		fmt.Fprintln(stdout, "?"+res.Query)
	}
	fmt.Fprintf(stdout, "# or send the header  %s\n# valid until %s\n", res.Header, res.Expires)
	return 0
}
