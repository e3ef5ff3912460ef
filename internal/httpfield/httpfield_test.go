package httpfield

import (
	"strings"
	"testing"
)

func TestParseQ(t *testing.T) {
	tests := []struct {
		params string
		want   int
	}{
		{"", 1000}, {"q=1", 1000}, {"q=0", 0}, {"q=0.5", 500}, {"Q=0.25", 250},
		{"q=0.125", 125}, {"q=1.000", 1000}, {"q=0.1234", 0}, {"q=2", 0}, {"level=1;q=0.3", 300},
	}
	for _, tt := range tests {
		if got := ParseQ([]byte(tt.params)); got != tt.want {
			t.Errorf("ParseQ(%q): got %d, want %d", tt.params, got, tt.want)
		}
	}
}

func TestNextToken(t *testing.T) {
	var got []string
	v := []byte(" a ,b,, c\t")
	for tok, rest := Next(v); tok != nil || len(rest) > 0; tok, rest = Next(rest) {
		got = append(got, string(tok))
	}
	if want := "a|b||c"; strings.Join(got, "|") != want {
		t.Fatalf("got %q, want %q", strings.Join(got, "|"), want)
	}
}

func TestEqualFoldASCII(t *testing.T) {
	tests := []struct {
		b     string
		lower string
		want  bool
	}{
		{"frame-ancestors", "frame-ancestors", true},
		{"Frame-Ancestors", "frame-ancestors", true},
		{"FRAME-ANCESTORS", "frame-ancestors", true},
		{"frame-anceſtors", "frame-ancestors", false}, // U+017F folds to s only under Unicode rules
		{"frame-ancestor", "frame-ancestors", false},
		{"frame_ancestors", "frame-ancestors", false},
		{"", "", true},
		{"K", "k", true},
		{"\u212a", "k", false}, // Kelvin sign
	}
	for _, tt := range tests {
		if got := EqualFoldASCII([]byte(tt.b), tt.lower); got != tt.want {
			t.Errorf("EqualFoldASCII(%q, %q) = %v, want %v", tt.b, tt.lower, got, tt.want)
		}
	}
}
