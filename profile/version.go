package profile

import (
	"errors"
	"strconv"
	"strings"
	"time"
)

// Version is a hybrid logical clock reading: milliseconds since the Unix
// epoch in the upper 48 bits, a counter in the lower 16. It orders writes
// across nodes whose clocks drift, while staying close to wall time.
type Version uint64

const logicalBits = 16

// Time returns the wall-clock part of v.
func (v Version) Time() time.Time { return time.UnixMilli(int64(v >> logicalBits)) }

// VersionAt returns the smallest Version of wall-clock time t, for
// comparing versions with a point in time.
func VersionAt(t time.Time) Version {
	ms := t.UnixMilli()
	if ms < 0 {
		return 0
	}
	return Version(ms) << logicalBits
}

// Stamp is the version and node of a write: which of two writes to one
// register wins, the same on every node.
type Stamp struct {
	V    Version
	Node string
}

// After reports whether s wins over o: the higher version, then between
// equal versions the higher node name.
func (s Stamp) After(o Stamp) bool { return s.V > o.V || s.V == o.V && s.Node > o.Node }

// MarshalText encodes the stamp as "<version>:<node>".
func (s Stamp) MarshalText() ([]byte, error) {
	b := strconv.AppendUint(make([]byte, 0, 21+len(s.Node)), uint64(s.V), 10)
	b = append(b, ':')
	return append(b, s.Node...), nil
}

// UnmarshalText decodes what MarshalText encodes.
func (s *Stamp) UnmarshalText(b []byte) error {
	str := string(b)
	i := strings.IndexByte(str, ':')
	if i < 0 {
		return errors.New("profile: stamp without a node")
	}
	v, err := strconv.ParseUint(str[:i], 10, 64)
	if err != nil {
		return errors.New("profile: stamp with a malformed version")
	}
	s.V, s.Node = Version(v), str[i+1:]
	return nil
}
