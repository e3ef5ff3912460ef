package config

import (
	"errors"
	"strconv"
	"strings"
)

// ByteSize is a number of bytes, written in config as a plain integer or
// with a unit: "512KiB", "8MiB", "1GiB" (powers of 1024) or "8MB" (powers
// of 1000).
type ByteSize int64

// Sizes for writing byte counts in code.
const (
	KiB ByteSize = 1 << 10
	MiB ByteSize = 1 << 20
	GiB ByteSize = 1 << 30
)

// Int returns the size as an int, saturating at the largest int.
func (s ByteSize) Int() int {
	if int64(s) > int64(^uint(0)>>1) {
		return int(^uint(0) >> 1)
	}
	return int(s)
}

var sizeUnits = []struct {
	suffix string
	mult   int64
}{
	// Longest suffixes first so "KiB" is not read as "B".
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30},
	{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9},
	{"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30},
	{"B", 1},
}

var errSize = errors.New(`want a size such as 65536, "64KiB" or "8MiB"`)

// ParseByteSize parses a byte count with an optional unit.
func ParseByteSize(s string) (ByteSize, error) {
	s = strings.TrimSpace(s)
	mult := int64(1)
	for _, u := range sizeUnits {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSpace(s[:len(s)-len(u.suffix)]), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, errSize
	}
	if n > (1<<63-1)/mult {
		return 0, errors.New("size too large")
	}
	return ByteSize(n * mult), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (s *ByteSize) UnmarshalText(b []byte) error {
	v, err := ParseByteSize(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// SizeOrShare is a byte count, written as a ByteSize, or a share of some
// other size, written as a percentage ("5%").
type SizeOrShare struct {
	// Bytes is the size written; zero when a share was.
	Bytes ByteSize
	// Percent is the share written, above 0 and at most 100; zero when a
	// size was.
	Percent float64
}

// Of returns the size: Bytes, or Percent of total.
func (s SizeOrShare) Of(total ByteSize) ByteSize {
	if s.Percent > 0 {
		return ByteSize(float64(total) * s.Percent / 100)
	}
	return s.Bytes
}

// IsZero reports whether nothing was written.
func (s SizeOrShare) IsZero() bool { return s.Bytes == 0 && s.Percent == 0 }

// UnmarshalText implements encoding.TextUnmarshaler.
func (s *SizeOrShare) UnmarshalText(b []byte) error {
	t := strings.TrimSpace(string(b))
	if p, ok := strings.CutSuffix(t, "%"); ok {
		v, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil || !(v > 0 && v <= 100) {
			return errors.New(`want a share above 0% and at most 100%, such as "5%"`)
		}
		*s = SizeOrShare{Percent: v}
		return nil
	}
	v, err := ParseByteSize(t)
	if err != nil {
		return errors.New(`want a size such as "8MiB" or a share of max_size such as "5%"`)
	}
	*s = SizeOrShare{Bytes: v}
	return nil
}
