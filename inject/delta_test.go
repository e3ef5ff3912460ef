package inject

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

// deltaPage has a region of every class the changed-page path must judge:
// doctype, head metadata, attribute values (plain and sensitive), scripts
// (escaped too), style, comments, text, template, svg, textarea, select and
// slots of several modes.
var deltaPage = strings.Repeat("<!-- padding to spread checkpoints -->\n", 0) + `<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Shop &amp; more</title>
<meta name="csrf-token" content="0123456789abcdef">
<script nonce="abcdef0123">var t = "<div data-marquee-slot=no>"; // <!-- <script> </script> --></script>
<style>.a{color:red}</style>
</head><body class="home">
<!-- rendered at 12:00:00 -->
<div id="top" data-x="1"><p>Hello <b>you</b></p></div>
<div data-marquee-slot="hero"><a href="/sale">Sale</a></div>
<table><tr><td>cell</td></tr></table>
<textarea name=t>text <div></textarea>
<select name=s><option>1<option>2</select>
<svg viewBox="0 0 1 1"><title>icon</title><path d="M0 0"/></svg>
<ul><li>one<li>two</ul>
<span data-marquee-slot=offer data-marquee-mode=outer>fallback</span>
<template><div data-marquee-slot=tpl>x</div></template>
<p>` + strings.Repeat("filler text ", 120) + `</p>
<img data-marquee-slot=banner src="/b.png" alt="banner">
<footer>© 2026 <span>ts 1700000000</span></footer>
</body></html>`

// samePlan reports whether two plans describe the same slots.
func samePlan(p, q *Plan) bool {
	return slices.Equal(p.slots, q.slots) && p.charset == q.charset && p.ncr == q.ncr && p.size == q.size
}

// mutations returns bodies that differ from base in one place, at every
// offset: a byte replaced, inserted or deleted, and a run lengthened.
func mutations(base []byte, pos int, r *rand.Rand) [][]byte {
	alphabet := []byte("x<>/\"'= -!a9&\n")
	c := alphabet[r.IntN(len(alphabet))]
	var out [][]byte
	if pos < len(base) && base[pos] != c {
		m := bytes.Clone(base)
		m[pos] = c
		out = append(out, m)
	}
	out = append(out, slices.Insert(bytes.Clone(base), pos, c))
	if pos < len(base) {
		out = append(out, slices.Delete(bytes.Clone(base), pos, pos+1))
		out = append(out, slices.Insert(bytes.Clone(base), pos, base[pos], base[pos], base[pos]))
	}
	return out
}

// TestDeltaNeverSharesWrongPlan checks that, with a sibling page cached, the
// plan Plan returns for a body that differs from it in one place — in every
// region class — is the plan a fresh compile gives, or the same error.
func TestDeltaNeverSharesWrongPlan(t *testing.T) {
	for _, tc := range []struct {
		name  string
		rules []SlotRule
	}{
		{"markers", nil},
		{"selectors", []SlotRule{{Name: "cell", Selector: "td"}, {Name: "top", Selector: "#top", Mode: ModeAfter}}},
		{"attribute selectors", []SlotRule{{Name: "x", Selector: "[data-x]"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base := []byte(deltaPage)
			r := rand.New(rand.NewPCG(3, 4))
			step := 1
			if testing.Short() {
				step = 7
			}
			var derived int
			for pos := 0; pos <= len(base); pos += step {
				for _, m := range mutations(base, pos, r) {
					c, err := NewCompiler(tc.rules, Options{CompileBudget: time.Minute})
					if err != nil {
						t.Fatal(err)
					}
					if _, err := c.Plan(base, "text/html"); err != nil {
						t.Fatalf("base page: %v", err)
					}
					got, gotErr := c.Plan(m, "text/html")
					want, wantErr := c.Compile(m, "text/html")
					if !errors.Is(gotErr, wantErr) && !errors.Is(wantErr, gotErr) {
						t.Fatalf("pos %d: got error %v, want %v", pos, gotErr, wantErr)
					}
					if wantErr == nil && !samePlan(got, want) {
						t.Fatalf("pos %d: got %+v, want %+v\nbody %q", pos, got.slots, want.slots, m)
					}
					derived += int(c.Stats().DeltaHits)
				}
			}
			if derived == 0 {
				t.Fatalf("got no derived plans, want the changed-page path exercised")
			}
			t.Logf("%d plans derived from the sibling", derived)
		})
	}
}

// TestDeltaTwoChanges is TestDeltaNeverSharesWrongPlan with two changes in
// one body, so that several regions and shifts combine.
func TestDeltaTwoChanges(t *testing.T) {
	base := []byte(deltaPage)
	r := rand.New(rand.NewPCG(7, 8))
	n := 1500
	if testing.Short() {
		n = 200
	}
	var derived uint64
	for i := 0; i < n; i++ {
		c, _ := NewCompiler(nil, Options{CompileBudget: time.Minute})
		ms := mutations(base, r.IntN(len(base)), r)
		m := ms[r.IntN(len(ms))]
		ms = mutations(m, r.IntN(len(m)), r)
		m = ms[r.IntN(len(ms))]
		if _, err := c.Plan(base, "text/html"); err != nil {
			t.Fatal(err)
		}
		before := c.Stats().DeltaHits
		got, gotErr := c.Plan(m, "text/html")
		want, wantErr := c.Compile(m, "text/html")
		if !errors.Is(gotErr, wantErr) && !errors.Is(wantErr, gotErr) {
			t.Fatalf("got error %v, want %v", gotErr, wantErr)
		}
		if wantErr == nil && !samePlan(got, want) {
			t.Fatalf("got %+v, want %+v\nbody %q", got.slots, want.slots, m)
		}
		derived += c.Stats().DeltaHits - before
	}
	if derived == 0 {
		t.Fatalf("got no derived plans, want the changed-page path exercised")
	}
	t.Logf("%d of %d plans derived", derived, n)
}

// TestDeltaNoncePage checks that a page differing per request by a nonce,
// a token and a timestamp takes the changed-page path, and is right.
func TestDeltaNoncePage(t *testing.T) {
	body := readShared(t, benchPage)
	for _, rules := range [][]SlotRule{nil, benchRules} {
		c, err := NewCompiler(rules, Options{CompileBudget: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Plan(noncePage(body, -1), benchCType); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 50; i++ {
			page := noncePage(body, i*7777)
			got, err := c.Plan(page, benchCType)
			if err != nil {
				t.Fatal(err)
			}
			want, _ := c.Compile(page, benchCType)
			if !samePlan(got, want) {
				t.Fatalf("request %d: got %+v, want %+v", i, got.slots, want.slots)
			}
			checkInvariant(t, got, page)
		}
		if s := c.Stats(); s.DeltaHits != 50 || s.Compiles != 1 {
			t.Fatalf("got %+v, want 50 derived plans and 1 compile", s)
		}
	}
}

func TestShiftOffset(t *testing.T) {
	wins := []window{{10, 20, 10, 25}, {40, 50, 45, 52}}
	tests := []struct{ in, want int }{{0, 0}, {10, 10}, {20, 25}, {30, 35}, {40, 45}, {50, 52}, {60, 62}}
	for _, tt := range tests {
		if got := shiftOffset(wins, tt.in); got != tt.want {
			t.Errorf("shiftOffset(%d): got %d, want %d", tt.in, got, tt.want)
		}
	}
}

// TestPlanHint checks that a hint finds the sibling of a page whose length
// and tail both change, and that a hint shared by unrelated pages is harmless.
func TestPlanHint(t *testing.T) {
	page := func(i int) []byte {
		return []byte(fmt.Sprintf(`<html><head><script nonce="%s"></script></head><body>`+
			`<div data-marquee-slot=a>fb</div><p>%s</p><footer>%d</footer></body></html>`,
			strings.Repeat("n", i%7*40), strings.Repeat("filler ", 50), i))
	}
	for _, tc := range []struct {
		name        string
		hint        []byte
		wantDerived bool
	}{{"without hint", nil, false}, {"with hint", []byte("example.com/c/shoes"), true}} {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := NewCompiler(nil, testOptions)
			if _, err := c.PlanHint(tc.hint, page(0), "text/html"); err != nil {
				t.Fatal(err)
			}
			p, err := c.PlanHint(tc.hint, page(3), "text/html")
			if err != nil {
				t.Fatal(err)
			}
			want, _ := c.Compile(page(3), "text/html")
			if !samePlan(p, want) {
				t.Fatalf("got %+v, want %+v", p.slots, want.slots)
			}
			if got := c.Stats().DeltaHits == 1; got != tc.wantDerived {
				t.Fatalf("derived: got %v, want %v", got, tc.wantDerived)
			}
			// An unrelated page under the same hint is compiled, not mixed up.
			other := []byte(`<p>other</p><span data-marquee-slot=b>x</span>`)
			q, err := c.PlanHint(tc.hint, other, "text/html")
			if err != nil || q.NumSlots() != 1 || q.Slot(0).Name != "b" {
				t.Fatalf("got %v, %v, want the other page's own slot", q, err)
			}
		})
	}
}
