package httpfield

import (
	"errors"
	"fmt"
	"strings"
)

// MaxNamePattern bounds a name pattern's length, and so the names Match
// decodes: a raw name over three times as long cannot decode to one that
// short, and is matched only by "*".
const MaxNamePattern = 64

// ErrNamePattern is wrapped by the errors of CheckNamePattern.
var ErrNamePattern = errors.New("bad query parameter pattern")

// Names matches query parameter names against patterns: exact names,
// name prefixes followed by "*" ("utm_*"), and, where allowed, "*" for
// every name. The edge cache leaves the names its ignore_query patterns
// match out of its keys; the export keeps the ones export.query matches.
type Names struct {
	all      bool
	exact    []string
	prefixes []string
}

// CheckNamePattern reports what is wrong with pattern p, or nil; allowAll
// says whether "*" alone, every name, is a pattern.
func CheckNamePattern(p string, allowAll bool) error {
	star := strings.IndexByte(p, '*')
	switch {
	case p == "*" && allowAll:
		return nil
	case p == "" || p == "*":
		return fmt.Errorf("%w %q: want a name or a prefix ending in *", ErrNamePattern, p)
	case len(p) > MaxNamePattern:
		return fmt.Errorf("%w %q: longer than %d bytes", ErrNamePattern, p, MaxNamePattern)
	case star >= 0 && star != len(p)-1:
		return fmt.Errorf("%w %q: * only at the end", ErrNamePattern, p)
	}
	return nil
}

// CompileNames compiles patterns, each as CheckNamePattern allows.
func CompileNames(patterns []string, allowAll bool) (Names, error) {
	var n Names
	for _, p := range patterns {
		if err := CheckNamePattern(p, allowAll); err != nil {
			return Names{}, err
		}
		switch {
		case p == "*":
			n.all = true
		case p[len(p)-1] == '*':
			n.prefixes = append(n.prefixes, p[:len(p)-1])
		default:
			n.exact = append(n.exact, p)
		}
	}
	return n, nil
}

// All reports whether every name matches ("*").
func (n *Names) All() bool { return n.all }

// Empty reports whether no name matches.
func (n *Names) Empty() bool { return !n.all && len(n.exact) == 0 && len(n.prefixes) == 0 }

// Match reports whether the raw query parameter name, form-decoded ("%5F"
// is "_", "+" a space), matches a pattern. It does not allocate.
func (n *Names) Match(raw []byte) bool {
	if n.all {
		return true
	}
	if len(raw) > 3*MaxNamePattern {
		return false
	}
	var buf [3 * MaxNamePattern]byte
	name := AppendFormUnescaped(buf[:0], raw)
	for _, e := range n.exact {
		if string(name) == e {
			return true
		}
	}
	for _, p := range n.prefixes {
		if len(name) >= len(p) && string(name[:len(p)]) == p {
			return true
		}
	}
	return false
}
