// Command marquee is an edge personalization proxy: it sits in front of a
// shop, recognises each visitor, and fills the marked slots of each HTML page
// with the offer that visitor should see.
//
// Run "marquee help" for the commands.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// command is one subcommand. run gets the arguments after the command name
// and returns the process exit code.
type command struct {
	name    string
	summary string
	run     func(args []string, stdout, stderr io.Writer) int
}

var commands = []command{
	{"serve", "run the proxy and admin API from a config file", runServe},
	{"demo", "run a demo shop behind marquee, with no setup", runDemo},
	{"bench", "measure the proxy's cost against passthrough on this machine", runBench},
	{"check", "validate a config file and print every problem", runCheck},
	{"stats", "print experiment statistics from a running marquee", runStats},
	{"campaigns", "list, diff and roll back campaign versions of a running marquee", runCampaigns},
	{"cache", "purge the edge cache of a running marquee and its fleet", runCache},
	{"preview", "mint a signed link that previews a campaign", runPreview},
	{"keygen", "print a new base64 cookie-signing key", runKeygen},
	{"import", "stream an NDJSON file of profiles or events into the store", runImport},
	{"store", "check or repair the profile store file of a stopped node", runStore},
	{"version", "print the version", runVersion},
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	name := args[0]
	switch name {
	case "help", "-h", "-help", "--help":
		if len(args) > 1 {
			return run([]string{args[1], "-h"}, stdout, stderr)
		}
		usage(stdout)
		return 0
	case "-version", "--version":
		name = "version"
	}
	for _, c := range commands {
		if c.name == name {
			return c.run(args[1:], stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "marquee: unknown command %q\n\n", name)
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprint(w, "marquee: an edge personalization proxy\n\nUsage:\n  marquee <command> [flags]\n\nCommands:\n")
	cs := commands
	for _, c := range cs {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprint(w, "\nRun \"marquee <command> -h\" for a command's flags.\n")
}

// newFlagSet returns a flag set whose -h prints a usage line, a description
// and the flags.
func newFlagSet(name, synopsis, description string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("marquee "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: marquee %s %s\n\n%s\n", name, synopsis, strings.TrimSpace(description))
		hasFlags := false
		fs.VisitAll(func(*flag.Flag) { hasFlags = true })
		if hasFlags {
			fmt.Fprint(stderr, "\nFlags:\n")
			fs.PrintDefaults()
		}
	}
	return fs
}

// parseFlags parses args and says what exit code to use when parsing ends
// the command: 0 after -h, 2 after a bad flag.
func parseFlags(fs *flag.FlagSet, args []string) (exit int, stop bool) {
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return 0, true
	case err != nil:
		return 2, true
	case fs.NArg() > 0:
		fmt.Fprintf(fs.Output(), "%s: unexpected argument %q\n", fs.Name(), fs.Arg(0))
		return 2, true
	}
	return 0, false
}
