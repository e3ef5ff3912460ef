package httpfield

import "testing"

func TestForm(t *testing.T) {
	tests := []struct{ raw, decoded string }{
		{"", ""},
		{"utm_source", "utm_source"},
		{"utm%5Fsource", "utm_source"},
		{"utm%5fsource", "utm_source"},
		{"a+b", "a b"},
		{"%2B", "+"},
		{"100%", "100%"},
		{"%4", "%4"},
		{"%zz", "%zz"},
		{"%41%42", "AB"},
	}
	for _, tt := range tests {
		if got := string(AppendFormUnescaped([]byte("x"), []byte(tt.raw))); got != "x"+tt.decoded {
			t.Errorf("AppendFormUnescaped(%q) = %q, want %q", tt.raw, got[1:], tt.decoded)
		}
		if !FormEqual([]byte(tt.raw), tt.decoded) {
			t.Errorf("FormEqual(%q, %q) = false", tt.raw, tt.decoded)
		}
		if FormEqual([]byte(tt.raw), tt.decoded+"x") || (tt.decoded != "" && FormEqual([]byte(tt.raw), tt.decoded[1:])) {
			t.Errorf("FormEqual(%q) matched a different string", tt.raw)
		}
	}
}
