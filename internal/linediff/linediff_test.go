package linediff

import (
	"fmt"
	"slices"
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

// BenchmarkUnifiedMostlyDifferent diffs two 4,000-line documents of which
// one line in ten is shared: the worst case a read token can ask
// GET /v1/campaigns/diff for, since the documents are capped in size.
func BenchmarkUnifiedMostlyDifferent(b *testing.B) {
	var da, db strings.Builder
	for i := range 4000 {
		if i%10 == 0 {
			fmt.Fprintf(&da, "  shared: %d\n", i)
			fmt.Fprintf(&db, "  shared: %d\n", i)
			continue
		}
		fmt.Fprintf(&da, "  a: %d\n", i)
		fmt.Fprintf(&db, "  b: %d\n", i)
	}
	a, bb := da.String(), db.String()
	b.ReportAllocs()
	for b.Loop() {
		Unified("A", "B", a, bb)
	}
}

// FuzzUnified checks that the diff of a and b is a patch: applying its
// hunks to a gives b.
func FuzzUnified(f *testing.F) {
	far := "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n"
	for _, c := range [][2]string{
		{"a\nb\nc\nd\ne\nf\ng\nh\ni\nj\n", "a\nb\nc\nD\ne\nf\ng\nh\ni\nj\nk\n"},
		{far, strings.Replace(strings.Replace(far, "2\n", "two\n", 1), "11\n", "", 1)},
		{"", "x\n"},
		{"x\n", ""},
		{"a\nb\na\nb\n", "b\na\nb\na\n"},
		{"a\n\n\nb", "\nb\n\na"},
	} {
		f.Add(c[0], c[1])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		d := Unified("A", "B", a, b)
		if d == "" {
			if strings.Join(splitLines(a), "\n") != strings.Join(splitLines(b), "\n") {
				t.Fatalf("no diff between %q and %q", a, b)
			}
			return
		}
		got, err := applyUnified(splitLines(a), d)
		if err != nil {
			t.Fatalf("%v in the diff of %q and %q:\n%s", err, a, b, d)
		}
		if want := splitLines(b); !slices.Equal(got, want) {
			t.Fatalf("patching %q gives %q, want %q; diff:\n%s", a, got, want, d)
		}
		// Within the bound on edits, the diff is a shortest one.
		al, bl := splitLines(a), splitLines(b)
		if len(al)+len(bl) <= maxEdits {
			edits := 0
			for _, l := range strings.Split(d, "\n")[2:] {
				if l != "" && (l[0] == '-' || l[0] == '+') {
					edits++
				}
			}
			if want := len(al) + len(bl) - 2*lcsLen(al, bl); edits != want {
				t.Fatalf("%d lines added and removed, want %d:\n%s", edits, want, d)
			}
		}
	})
}

// applyUnified applies diff, as Unified writes it, to the lines of a,
// checking every hunk's header and context against a.
func applyUnified(a []string, diff string) ([]string, error) {
	lines := strings.Split(strings.TrimSuffix(diff, "\n"), "\n")
	if len(lines) < 2 || lines[0] != "--- A" || lines[1] != "+++ B" {
		return nil, fmt.Errorf("bad header")
	}
	var out []string
	next := 0 // the next line of a not yet copied
	for i := 2; i < len(lines); {
		var aStart, aLen, bStart, bLen int
		if _, err := fmt.Sscanf(lines[i], "@@ -%d,%d +%d,%d @@", &aStart, &aLen, &bStart, &bLen); err != nil {
			return nil, fmt.Errorf("line %d: %q: %v", i, lines[i], err)
		}
		i++
		if aLen > 0 {
			aStart-- // 1-based, except an empty range names the line before
		}
		if aStart < next || aStart > len(a) {
			return nil, fmt.Errorf("hunk at %d overlaps or is past the end", aStart)
		}
		out = append(out, a[next:aStart]...)
		if bLen > 0 && bStart-1 != len(out) || bLen == 0 && bStart != len(out) {
			return nil, fmt.Errorf("hunk's +%d,%d: %d lines written before it", bStart, bLen, len(out))
		}
		next = aStart
		na, nb := 0, 0
		for ; i < len(lines) && !strings.HasPrefix(lines[i], "@@ "); i++ {
			l := lines[i]
			if l == "" {
				return nil, fmt.Errorf("line %d empty", i)
			}
			switch l[0] {
			case ' ', '-':
				if next >= len(a) || a[next] != l[1:] {
					return nil, fmt.Errorf("line %d: %q is not line %d of a", i, l, next+1)
				}
				next++
				na++
				if l[0] == ' ' {
					out = append(out, l[1:])
					nb++
				}
			case '+':
				out = append(out, l[1:])
				nb++
			default:
				return nil, fmt.Errorf("line %d: %q", i, l)
			}
		}
		if na != aLen || nb != bLen {
			return nil, fmt.Errorf("hunk -%d,%d +%d,%d has %d and %d lines", aStart, aLen, bStart, bLen, na, nb)
		}
	}
	return append(out, a[next:]...), nil
}

// lcsLen is the length of a longest common subsequence of a and b, by
// the quadratic table Unified used before Myers' algorithm.
func lcsLen(a, b []string) int {
	w := len(b) + 1
	t := make([]int, (len(a)+1)*w)
	for i := len(a) - 1; i >= 0; i-- {
		for j := len(b) - 1; j >= 0; j-- {
			if a[i] == b[j] {
				t[i*w+j] = t[(i+1)*w+j+1] + 1
			} else {
				t[i*w+j] = max(t[(i+1)*w+j], t[i*w+j+1])
			}
		}
	}
	return t[0]
}
