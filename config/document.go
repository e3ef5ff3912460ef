package config

import (
	"slices"

	"go.yaml.in/yaml/v3"
)

// zeroMeansUnset are the keys of the decisions whose false or 0 reads the
// same as leaving the key out. A variant's weight is not among them (0
// switches the variant off, absent is 1), nor cuped (false turns it off,
// absent leaves it on).
var zeroMeansUnset = []string{"priority", "holdout", "global_holdout", "control"}

// botsNote is the comment a document carries when bots.user_agents is
// not set.
const botsNote = "bots.user_agents is not set: the built-in list of common crawlers is in force"

// Document returns d as YAML for people to read and edit (GET
// /v1/campaigns): what is not set is left out (a campaign without a
// schedule, cap or condition, empty lists, a zero priority or holdout),
// and a comment says when the built-in crawler list is in force. Reading
// it back with WithDecisions gives the same decisions. It is not the form
// hashed to compare documents, which marshals every field.
func (d Decisions) Document() ([]byte, error) {
	var n yaml.Node
	if err := n.Encode(d); err != nil {
		return nil, err
	}
	prune(&n)
	if len(d.Bots.UserAgents) == 0 {
		n.FootComment = botsNote
	}
	return yaml.Marshal(&n)
}

// prune removes, from the mappings under n, the keys whose value is null,
// an empty string, list or mapping (after pruning), or a zero that means
// unset. It reports whether n itself is now empty.
func prune(n *yaml.Node) bool {
	switch n.Kind {
	case yaml.MappingNode:
		kept := n.Content[:0]
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if prune(v) || (slices.Contains(zeroMeansUnset, k.Value) && isZeroScalar(v)) {
				continue
			}
			kept = append(kept, k, v)
		}
		n.Content = kept
		return len(kept) == 0
	case yaml.SequenceNode:
		for _, c := range n.Content {
			// An item of a list stays, even if empty: the list's length
			// is data.
			prune(c)
		}
		return len(n.Content) == 0
	case yaml.ScalarNode:
		return n.Tag == "!!null" || (n.Tag == "!!str" && n.Value == "")
	}
	return false
}

// isZeroScalar reports whether n is false or a zero number.
func isZeroScalar(n *yaml.Node) bool {
	if n.Kind != yaml.ScalarNode {
		return false
	}
	switch n.Tag {
	case "!!bool":
		return n.Value == "false"
	case "!!int", "!!float":
		return n.Value == "0" || n.Value == "0.0"
	}
	return false
}
