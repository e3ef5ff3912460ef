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

func TestNames(t *testing.T) {
	n, err := CompileNames([]string{"gclid", "utm_*"}, false)
	if err != nil {
		t.Fatal(err)
	}
	for raw, want := range map[string]bool{
		"gclid": true, "utm_source": true, "utm%5Fsource": true, "utm_": true,
		"gclid2": false, "utm": false, "page": false, "": false,
		"utm_" + string(make([]byte, 3*MaxNamePattern)): false, // longer than any pattern can match
	} {
		if got := n.Match([]byte(raw)); got != want {
			t.Errorf("Match(%.20q) = %v, want %v", raw, got, want)
		}
	}
	all, err := CompileNames([]string{"*"}, true)
	if err != nil || !all.All() || !all.Match([]byte("anything")) {
		t.Errorf("*: %v, all %v", err, all.All())
	}
	if none, _ := CompileNames(nil, false); !none.Empty() || none.Match([]byte("x")) {
		t.Error("no patterns matched a name")
	}
	for _, bad := range []string{"", "*", "a*b", "*a", string(make([]byte, MaxNamePattern+1))} {
		if _, err := CompileNames([]string{bad}, false); err == nil {
			t.Errorf("pattern %.20q accepted", bad)
		}
	}
	if _, err := CompileNames([]string{"*"}, true); err != nil {
		t.Errorf("* with allowAll: %v", err)
	}
}
