package demo

import (
	_ "embed"
	"slices"
)

//go:embed demo.yaml
var demoYAML []byte

// Config returns the demo's segments and campaigns as a YAML fragment: the
// segments gold, silver, electronics_fan and likely_buyer, and campaigns for
// the hero, offer and recs slots of the demo shop. It holds no listen,
// origin or admin keys; the demo command adds those before parsing. The
// result is a copy the caller may modify.
func Config() []byte {
	return slices.Clone(demoYAML)
}
