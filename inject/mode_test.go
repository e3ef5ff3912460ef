package inject

import (
	"errors"
	"testing"
)

func TestParseMode(t *testing.T) {
	tests := []struct {
		in   string
		want Mode
		err  error
	}{
		{"", ModeInner, nil},
		{"inner", ModeInner, nil},
		{"OUTER", ModeOuter, nil},
		{"before", ModeBefore, nil},
		{"after", ModeAfter, nil},
		{"Prepend", ModePrepend, nil},
		{"append", ModeAppend, nil},
		{"around", ModeInner, ErrMode},
		{"inner ", ModeInner, ErrMode},
	}
	for _, tt := range tests {
		got, err := ParseMode(tt.in)
		if !errors.Is(err, tt.err) || got != tt.want {
			t.Errorf("ParseMode(%q): got %v, %v, want %v, %v", tt.in, got, err, tt.want, tt.err)
		}
	}
}

func TestModeString(t *testing.T) {
	tests := []struct {
		m    Mode
		want string
	}{
		{ModeInner, "inner"}, {ModeOuter, "outer"}, {ModeBefore, "before"},
		{ModeAfter, "after"}, {ModePrepend, "prepend"}, {ModeAppend, "append"},
		{Mode(6), "Mode(6)"}, {Mode(255), "Mode(255)"},
	}
	for _, tt := range tests {
		if got := tt.m.String(); got != tt.want {
			t.Errorf("got %q, want %q", got, tt.want)
		}
		if tt.m < numModes {
			if back, err := ParseMode(tt.want); err != nil || back != tt.m {
				t.Errorf("round trip of %q: got %v, %v", tt.want, back, err)
			}
		}
	}
}
