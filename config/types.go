package config

import "go.yaml.in/yaml/v3"

// StringList is a list of strings that may also be written as one string.
type StringList []string

func (s *StringList) decodeNode(d *decoder, n *yaml.Node, path string) {
	switch n.Kind {
	case yaml.ScalarNode:
		*s = StringList{n.Value}
	case yaml.SequenceNode:
		var out []string
		d.decode(n, reflectValue(&out), path)
		*s = out
	default:
		d.failf(n, path, "want a string or a list of strings, got %s", kindName(n))
	}
}

// Segments is the segments mapping in the order it was written, so that
// errors and evaluation follow the file.
type Segments []Segment

func (s *Segments) decodeNode(d *decoder, n *yaml.Node, path string) {
	if n.Kind != yaml.MappingNode {
		d.failf(n, path, "want a mapping of segment names to expressions, got %s", kindName(n))
		return
	}
	seen := make(map[string]bool, len(n.Content)/2)
	out := make(Segments, 0, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		fp := joinPath(path, k.Value)
		if seen[k.Value] {
			d.failf(k, fp, "segment %q defined twice", k.Value)
			continue
		}
		seen[k.Value] = true
		var when string
		d.decode(n.Content[i+1], reflectValue(&when), fp)
		out = append(out, Segment{Name: k.Value, When: when})
	}
	*s = out
}

// Names returns the segment names in file order.
func (s Segments) Names() []string {
	names := make([]string, len(s))
	for i, seg := range s {
		names[i] = seg.Name
	}
	return names
}

// MarshalYAML writes segments back as the mapping they are read from, in
// order.
func (s Segments) MarshalYAML() (any, error) {
	n := &yaml.Node{Kind: yaml.MappingNode}
	for _, seg := range s {
		n.Content = append(n.Content,
			&yaml.Node{Kind: yaml.ScalarNode, Value: seg.Name},
			&yaml.Node{Kind: yaml.ScalarNode, Value: seg.When, Style: yaml.SingleQuotedStyle})
	}
	return n, nil
}
