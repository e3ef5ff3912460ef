package main

import (
	"fmt"
	"io"

	"github.com/marquee-proxy/marquee/config"
)

func runKeygen(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("keygen", "", `
Print a new random 32-byte cookie-signing key, base64-encoded, for
identity.keys in the config file. To rotate keys, put the new key first and
keep the old ones after it: the first key signs, every listed key verifies.`, stderr)
	if code, stop := parseFlags(fs, args); stop {
		return code
	}
	k, err := config.NewKey()
	if err != nil {
		fmt.Fprintln(stderr, "marquee keygen:", err)
		return 1
	}
	fmt.Fprintln(stdout, k)
	return 0
}
