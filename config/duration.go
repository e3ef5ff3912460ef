package config

import (
	"errors"
	"strconv"
	"strings"
	"time"
)

// Duration is a time.Duration written in config with Go's syntax plus a
// "d" unit for days of 24 hours: "30m", "24h", "7d", "1d12h".
type Duration time.Duration

// Units for writing durations in code.
const (
	Second = Duration(time.Second)
	Minute = Duration(time.Minute)
	Hour   = Duration(time.Hour)
	Day    = 24 * Hour
)

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// String formats d the way ParseDuration reads it, using days when d is a
// whole number of them.
func (d Duration) String() string {
	if d != 0 && d%Day == 0 {
		return strconv.FormatInt(int64(d/Day), 10) + "d"
	}
	return time.Duration(d).String()
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

var errDuration = errors.New(`want a duration such as "30s", "15m", "24h" or "7d"`)

// ParseDuration parses Go duration syntax extended with "d" for days.
// Days may carry a fraction ("1.5d") and combine with other units ("1d12h").
func ParseDuration(s string) (Duration, error) {
	orig := s
	if s == "" {
		return 0, errDuration
	}
	neg := false
	if s[0] == '-' || s[0] == '+' {
		neg = s[0] == '-'
		s = s[1:]
	}
	var days float64
	var rest strings.Builder
	for s != "" {
		i := 0
		for i < len(s) && (s[i] == '.' || (s[i] >= '0' && s[i] <= '9')) {
			i++
		}
		j := i
		for j < len(s) && (s[j] < '0' || s[j] > '9') && s[j] != '.' {
			j++
		}
		if i == 0 || j == i {
			if orig == "0" {
				return 0, nil
			}
			return 0, errDuration
		}
		num, unit := s[:i], s[i:j]
		if unit == "d" {
			f, err := strconv.ParseFloat(num, 64)
			if err != nil {
				return 0, errDuration
			}
			days += f
		} else {
			rest.WriteString(num)
			rest.WriteString(unit)
		}
		s = s[j:]
	}
	var total time.Duration
	if rest.Len() > 0 {
		d, err := time.ParseDuration(rest.String())
		if err != nil {
			return 0, errDuration
		}
		total = d
	}
	const maxDays = float64(1<<63-1) / float64(24*time.Hour)
	if days > maxDays {
		return 0, errors.New("duration too large")
	}
	dd := time.Duration(days * float64(24*time.Hour))
	if total > 0 && dd > time.Duration(1<<63-1)-total {
		return 0, errors.New("duration too large")
	}
	total += dd
	if neg {
		total = -total
	}
	return Duration(total), nil
}
