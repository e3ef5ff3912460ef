package export

import (
	"math"
	"strconv"
	"time"
	"unicode/utf8"
)

// Type is what a record says happened.
type Type uint8

// The record types.
const (
	// Exposure: a visitor was shown a campaign's variant (or its holdout's
	// fallback).
	Exposure Type = iota
	// Conversion: a conversion was credited to an exposure.
	Conversion
)

// String returns the record's "type" value.
func (t Type) String() string {
	switch t {
	case Exposure:
		return "exposure"
	case Conversion:
		return "conversion"
	}
	return "unknown"
}

// MaxURL is the longest url a record carries, in bytes; a longer one is
// cut there (at a character boundary), so that a record stays small
// enough for the queues' byte bound whatever a client sends.
const MaxURL = 4096

// timeLayout is RFC 3339 with milliseconds, always three digits.
const timeLayout = "2006-01-02T15:04:05.000Z07:00"

// Subject is what one page's records have in common: who saw it, where
// and when. Fill it with [Exporter.SetSubject] and pass it to every
// record of the page. It copies what it is given, so it may outlive the
// request; reuse one (SetSubject keeps its buffer) to record without
// allocating. A Subject is not safe for concurrent use.
type Subject struct {
	// buf holds `"time":…,"visitor":…,"customer":…,"url":…,` encoded.
	buf []byte
	// url holds the url with its query filtered, before encoding.
	url []byte
	// key is where the visitor's value (unquoted) sits in buf.
	key [2]int
	ms  int64 // the time, Unix milliseconds
}

// appendJSONString appends s as a JSON string. Invalid UTF-8 becomes
// U+FFFD, so that every record is valid JSON whatever bytes a request
// carried.
func appendJSONString[S ~string | ~[]byte](dst []byte, s S) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := decodeRune(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i++
			start = i
			continue
		}
		// U+2028 and U+2029 are valid JSON but end lines in JavaScript.
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// decodeRune is utf8.DecodeRune for either string type, without
// converting.
func decodeRune[S ~string | ~[]byte](s S) (rune, int) {
	if len(s) > utf8.UTFMax {
		s = s[:utf8.UTFMax]
	}
	var b [utf8.UTFMax]byte
	n := copy(b[:], s)
	return utf8.DecodeRune(b[:n])
}

const hexDigits = "0123456789abcdef"

// appendNullable appends s as a JSON string, or null when empty.
func appendNullable[S ~string | ~[]byte](dst []byte, s S) []byte {
	if len(s) == 0 {
		return append(dst, "null"...)
	}
	return appendJSONString(dst, s)
}

// cutURL returns u cut to at most MaxURL bytes without splitting a UTF-8
// sequence.
func cutURL(u []byte) []byte {
	if len(u) <= MaxURL {
		return u
	}
	n := MaxURL
	for n > 0 && !utf8.RuneStart(u[n]) {
		n--
	}
	return u[:n]
}

// appendTime appends t as RFC 3339 in UTC with milliseconds.
func appendTime(dst []byte, t time.Time) []byte {
	return t.UTC().AppendFormat(dst, timeLayout)
}

// appendValue appends a conversion's value; one that is negative or not
// finite counts as none, as it does for the statistics.
func appendValue(dst []byte, v float64) []byte {
	if !(v > 0) || math.IsInf(v, 0) {
		v = 0
	}
	return strconv.AppendFloat(dst, v, 'f', -1, 64)
}
