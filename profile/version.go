package profile

import "time"

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
