package personalize

import (
	"bytes"
	"slices"
	"testing"
)

// FuzzWithoutFrameAncestors feeds withoutFrameAncestors arbitrary
// Content-Security-Policy values, as an origin may send: it must not
// panic, must leave no frame-ancestors directive, and must keep every
// other directive, in order.
func FuzzWithoutFrameAncestors(f *testing.F) {
	for _, s := range []string{
		"frame-ancestors 'none'",
		"frame-ancestors 'none'; script-src 'self'",
		"script-src 'self'; FRAME-ANCESTORS 'self'",
		"frame-ancestors 'none', script-src 'self'",
		"script-src 'self', frame-ancestors 'none'; img-src *",
		"frame-ancestors-x y; ;",
		"default-src 'self'\tframe-ancestors; ,, ;frame-ancestors\t*",
		"",
		"frame-ance\u017ftors x; img-src *",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, v []byte) {
		got, had := withoutFrameAncestors([]byte("x"), v)
		if !bytes.HasPrefix(got, []byte("x")) {
			t.Fatalf("dst not appended to: %q", got)
		}
		got = got[1:]
		in, inHad := cspDirectives(v)
		out, outHad := cspDirectives(got)
		if outHad {
			t.Fatalf("%q kept a frame-ancestors directive: %q", v, got)
		}
		if had != inHad {
			t.Fatalf("%q: reported had=%v, want %v", v, had, inHad)
		}
		if !slices.Equal(out, in) {
			t.Fatalf("%q gave %q: directives %q, want %q", v, got, out, in)
		}
	})
}

// cspDirectives parses a Content-Security-Policy field value as the
// oracle of the fuzz test, independently of withoutFrameAncestors: the
// directives other than frame-ancestors, each stripped of surrounding
// whitespace, and whether a frame-ancestors one was there. Policies are
// split on commas and directives on semicolons, and a directive's name
// runs to the first whitespace (CSP Level 3 §2.2.1), compared ignoring
// ASCII case only.
func cspDirectives(v []byte) (kept []string, frame bool) {
	for _, policy := range bytes.Split(v, []byte(",")) {
		for _, d := range bytes.Split(policy, []byte(";")) {
			d = bytes.Trim(d, " \t")
			if len(d) == 0 {
				continue
			}
			name, _, _ := bytes.Cut(d, []byte(" "))
			name, _, _ = bytes.Cut(name, []byte("\t"))
			if asciiFold(name, "frame-ancestors") {
				frame = true
				continue
			}
			kept = append(kept, string(d))
		}
	}
	return kept, frame
}

// asciiFold reports whether b is s with ASCII letters in any case, as CSP
// compares directive names.
func asciiFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(b) {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}
