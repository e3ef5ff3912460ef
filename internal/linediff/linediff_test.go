package linediff

import (
	"strings"
	"testing"
)

func TestUnified(t *testing.T) {
	a := "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\n"
	b := "a\nb\nc\nD\ne\nf\ng\nh\ni\nj\nk\n"
	want := `--- A
+++ B
@@ -1,10 +1,11 @@
 a
 b
 c
-d
+D
 e
 f
 g
 h
 i
 j
+k
`
	if got := Unified("A", "B", a, b); got != want {
		t.Errorf("diff:\n%s\nwant:\n%s", got, want)
	}
	far := "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n"
	got := Unified("A", "B", far, strings.Replace(strings.Replace(far, "2\n", "two\n", 1), "11\n", "", 1))
	if strings.Count(got, "@@ -") != 2 || !strings.Contains(got, "@@ -1,5 +1,5 @@\n 1\n-2\n+two\n") || !strings.Contains(got, "@@ -8,5 +8,4 @@\n 8\n 9\n 10\n-11\n 12\n") {
		t.Errorf("two hunks expected:\n%s", got)
	}
	if got := Unified("A", "B", a, a); got != "" {
		t.Errorf("equal documents: %q", got)
	}
	if got := Unified("A", "B", "", "x\n"); got != "--- A\n+++ B\n@@ -0,0 +1,1 @@\n+x\n" {
		t.Errorf("from empty: %q", got)
	}
}
