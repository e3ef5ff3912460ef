// Package linediff compares two texts line by line and writes the result as
// a unified diff, for showing what changed between two versions of a
// decisions document: marquee campaigns diff and the admin API's
// GET /v1/campaigns/diff use it, so both show the same diff. It is not on
// the request path.
package linediff

import (
	"fmt"
	"slices"
	"strings"
)

// diffContext is how many unchanged lines surround each change.
const diffContext = 3

// maxEdits bounds the line matching: documents whose differing middle
// needs more added and removed lines are shown as one replaced block.
// The matching keeps (D+1)² int32s for D edits, so this bounds each call
// to 4 MiB, and its time to (N+M)·maxEdits steps for N and M lines: the
// admin API lets any read token ask for diffs, concurrently.
const maxEdits = 1023

// Unified returns the differences between a and b in unified diff
// form, or "" when they are equal. After trimming the common start and
// end, lines are matched by Myers' O(ND) algorithm, giving a shortest
// edit script when there are at most maxEdits changed lines.
func Unified(nameA, nameB, a, b string) string {
	if a == b {
		return ""
	}
	al, bl := splitLines(a), splitLines(b)
	ops := diffLines(al, bl)
	var sb strings.Builder
	fmt.Fprintf(&sb, "--- %s\n+++ %s\n", nameA, nameB)
	// Group the operations into hunks of changes with their context.
	for i := 0; i < len(ops); {
		if ops[i].kind == ' ' {
			i++
			continue
		}
		start := max(i-diffContext, 0)
		end := i
		for j := i; j < len(ops); j++ {
			if ops[j].kind != ' ' {
				end = j
			} else if j-end > 2*diffContext {
				break
			}
		}
		end = min(end+diffContext+1, len(ops))
		var aStart, aLen, bStart, bLen int
		aStart, bStart = ops[start].a+1, ops[start].b+1
		for _, op := range ops[start:end] {
			if op.kind != '+' {
				aLen++
			}
			if op.kind != '-' {
				bLen++
			}
		}
		if aLen == 0 {
			aStart--
		}
		if bLen == 0 {
			bStart--
		}
		fmt.Fprintf(&sb, "@@ -%d,%d +%d,%d @@\n", aStart, aLen, bStart, bLen)
		for _, op := range ops[start:end] {
			sb.WriteByte(op.kind)
			sb.WriteString(op.line)
			sb.WriteByte('\n')
		}
		i = end
	}
	return sb.String()
}

// diffOp is one line of the edit script: kept (' '), removed ('-') or
// added ('+'), with the indexes of the next line of a and of b.
type diffOp struct {
	kind byte
	line string
	a, b int
}

func splitLines(s string) []string {
	s = strings.TrimSuffix(s, "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// diffLines returns an edit script turning a into b.
func diffLines(a, b []string) []diffOp {
	pre := 0
	for pre < len(a) && pre < len(b) && a[pre] == b[pre] {
		pre++
	}
	suf := 0
	for suf < len(a)-pre && suf < len(b)-pre && a[len(a)-1-suf] == b[len(b)-1-suf] {
		suf++
	}
	var ops []diffOp
	for i := range pre {
		ops = append(ops, diffOp{' ', a[i], i, i})
	}
	ma, mb := a[pre:len(a)-suf], b[pre:len(b)-suf]
	if mid, ok := myers(ma, mb, pre); ok {
		ops = append(ops, mid...)
	} else {
		for i, l := range ma {
			ops = append(ops, diffOp{'-', l, pre + i, pre})
		}
		for j, l := range mb {
			ops = append(ops, diffOp{'+', l, pre + len(ma), pre + j})
		}
	}
	for k := range suf {
		ia, ib := len(a)-suf+k, len(b)-suf+k
		ops = append(ops, diffOp{' ', a[ia], ia, ib})
	}
	return ops
}

// myers returns a shortest edit script turning a into b, its line indexes
// offset by off, or false when it needs more than maxEdits edits. It is
// the greedy forward search of E. Myers, "An O(ND) Difference Algorithm
// and Its Variations" (1986), keeping each round's furthest points to
// walk the path back. Of two moves reaching as far, it takes the
// removal first, so a changed block reads as its removed lines then its
// added ones.
func myers(a, b []string, off int) ([]diffOp, bool) {
	n, m := len(a), len(b)
	// v[k+dmax] is the furthest x reached on diagonal k = x-y; trace
	// keeps round d's v[-d..d] at trace[d*d:], since rounds before d take
	// d² cells.
	dmax := min(n+m, maxEdits)
	v := make([]int32, 2*dmax+3)
	var trace []int32
	end := -1
	for d := 0; d <= dmax && end < 0; d++ {
		for k := -d; k <= d; k += 2 {
			var x int
			if k == -d || (k != d && v[k-1+dmax+1] < v[k+1+dmax+1]) {
				x = int(v[k+1+dmax+1]) // down from k+1: an added line
			} else {
				x = int(v[k-1+dmax+1]) + 1 // right from k-1: a removed line
			}
			y := x - k
			for x < n && y < m && a[x] == b[y] {
				x++
				y++
			}
			v[k+dmax+1] = int32(x)
			if x >= n && y >= m {
				end = d
			}
		}
		// Double the trace when it is full: append's own growth, by a
		// quarter for large slices, would allocate five times the final
		// size in all.
		if need := (d + 1) * (d + 1); need > cap(trace) {
			trace = slices.Grow(trace, min(max(2*cap(trace), need), (dmax+1)*(dmax+1))-len(trace))
		}
		trace = append(trace, v[-d+dmax+1:d+dmax+2]...)
	}
	if end < 0 {
		return nil, false
	}
	// Walk back from (n, m), collecting the ops in reverse.
	ops := make([]diffOp, 0, n+m)
	x, y := n, m
	for d := end; d > 0; d-- {
		prev := trace[(d-1)*(d-1):]
		at := func(k int) int { return int(prev[k+d-1]) }
		k := x - y
		var pk int
		if k == -d || (k != d && at(k-1) < at(k+1)) {
			pk = k + 1
		} else {
			pk = k - 1
		}
		// The move from the furthest point px of diagonal pk lands at
		// x = mx, and the equal lines after it reach x.
		px := at(pk)
		mx := px + 1
		if pk == k+1 {
			mx = px
		}
		for x > mx {
			x--
			y--
			ops = append(ops, diffOp{' ', a[x], off + x, off + y})
		}
		if pk == k+1 {
			y--
			ops = append(ops, diffOp{'+', b[y], off + x, off + y})
		} else {
			x--
			ops = append(ops, diffOp{'-', a[x], off + x, off + y})
		}
	}
	for x > 0 {
		x--
		y--
		ops = append(ops, diffOp{' ', a[x], off + x, off + y})
	}
	slices.Reverse(ops)
	return ops, true
}
