package main

import (
	"fmt"
	"io"
)

func runDemo(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("demo", "", `
Run a demo shop with marquee in front of it, an admin API, seeded visitor
profiles and campaigns, and print the URLs to open. Needs no config.`, stderr)
	if code, stop := parseFlags(fs, args); stop {
		return code
	}
	fmt.Fprintln(stdout, "marquee demo: not yet: the demo shop arrives with personalisation end to end")
	return 0
}
