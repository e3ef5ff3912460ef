package inject

import "fmt"

// Mode says which bytes of a slot element an offer replaces or where it is
// inserted. The zero value is ModeInner.
type Mode uint8

// Slot modes. The names are the ones used in configuration and in the
// data-marquee-mode attribute.
const (
	// ModeInner replaces the element's content; the content is the fallback.
	ModeInner Mode = iota
	// ModeOuter replaces the whole element, tags included; the element is the
	// fallback.
	ModeOuter
	// ModeBefore inserts the offer just before the element's start tag.
	ModeBefore
	// ModeAfter inserts the offer just after the element's end tag.
	ModeAfter
	// ModePrepend inserts the offer at the start of the element's content.
	ModePrepend
	// ModeAppend inserts the offer at the end of the element's content.
	ModeAppend
	numModes
)

var modeNames = [numModes]string{"inner", "outer", "before", "after", "prepend", "append"}

// String returns the configuration name of m, or "Mode(n)" for a value
// outside the enum. It never panics.
func (m Mode) String() string {
	if m < numModes {
		return modeNames[m]
	}
	return fmt.Sprintf("Mode(%d)", uint8(m))
}

// ParseMode maps a configuration name (case-insensitive) to a Mode; the empty
// string means ModeInner.
func ParseMode(s string) (Mode, error) {
	if s == "" {
		return ModeInner, nil
	}
	if m, ok := parseModeBytes([]byte(s)); ok {
		return m, nil
	}
	return ModeInner, fmt.Errorf("%w: %q", ErrMode, s)
}

// parseModeBytes is ParseMode for attribute values read straight from a page,
// without allocating.
func parseModeBytes(b []byte) (Mode, bool) {
	for i, n := range modeNames {
		if equalFoldASCII(b, n) {
			return Mode(i), true
		}
	}
	return ModeInner, false
}
