package inject

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

// pageGen writes random well-nested pages from a small grammar and records
// which markers must become slots: those on real elements, outside comments,
// raw text, attribute values, templates, SVG and other slots.
type pageGen struct {
	r    *rand.Rand
	b    strings.Builder
	n    int
	live []string
}

func (g *pageGen) marker(live bool, void bool) string {
	name := fmt.Sprintf("m%d", g.n)
	g.n++
	attr := [...]string{"data-marquee-slot", "DATA-MARQUEE-SLOT", "Data-Marquee-Slot"}[g.r.IntN(3)]
	var s string
	switch g.r.IntN(3) {
	case 0:
		s = fmt.Sprintf(` %s="%s"`, attr, name)
	case 1:
		s = fmt.Sprintf(` %s='%s'`, attr, name)
	default:
		s = fmt.Sprintf(` %s=%s `, attr, name)
	}
	modes := []string{"", "inner", "outer", "before", "after", "prepend", "append"}
	if void {
		modes = []string{"", "outer", "before", "after"}
	}
	if m := modes[g.r.IntN(len(modes))]; m != "" {
		s += ` data-marquee-mode="` + m + `"`
	}
	if live {
		g.live = append(g.live, name)
	}
	return s
}

// cellMarker is a live marker for a table cell.
func (g *pageGen) cellMarker() string {
	name := fmt.Sprintf("m%d", g.n)
	g.n++
	g.live = append(g.live, name)
	s := ` data-marquee-slot=` + name
	if m := [...]string{"", "inner", "prepend", "append"}[g.r.IntN(4)]; m != "" {
		s += ` data-marquee-mode=` + m
	}
	return s
}

// deadMarkup is markup whose marker is not an element.
func (g *pageGen) deadMarkup() string {
	m := `<div` + g.marker(false, false) + `>x</div>`
	switch g.r.IntN(7) {
	case 0:
		return `<!-- ` + m + ` -->`
	case 1:
		return `<script>var s = '` + m + `';</script>`
	case 2:
		return `<style>/* ` + m + ` */</style>`
	case 3:
		return `<textarea>` + m + `</textarea>`
	case 4:
		return `<template>` + m + `</template>`
	case 5:
		return `<svg><g` + g.marker(false, false) + `><path d="M0 0"/></g></svg>`
	}
	return `<a href="#" title="` + strings.ReplaceAll(m, `"`, "&quot;") + `">t</a>`
}

func (g *pageGen) attrs(inSlot bool, void bool) (string, bool) {
	s := ""
	if g.r.IntN(3) == 0 {
		s += ` class="c` + fmt.Sprint(g.r.IntN(9)) + `"`
	}
	slot := false
	if g.r.IntN(4) == 0 {
		s += g.marker(!inSlot, void)
		slot = !inSlot
	}
	if g.r.IntN(4) == 0 {
		s += ` title=x`
	}
	return s, slot
}

// flow writes flow content; phrasing writes phrasing content only.
func (g *pageGen) flow(depth int, inSlot bool) {
	for i := g.r.IntN(4); i >= 0; i-- {
		switch k := g.r.IntN(9); {
		case depth <= 0 || k == 0:
			g.text()
		case k == 1:
			g.b.WriteString(g.deadMarkup())
		case k == 2:
			a, s := g.attrs(inSlot, false)
			g.b.WriteString("<p" + a + ">")
			g.phrasing(depth-1, inSlot || s)
			g.b.WriteString("</p>")
		case k == 3:
			a, s := g.attrs(inSlot, false)
			g.b.WriteString("<ul" + a + ">")
			for j := g.r.IntN(3); j >= 0; j-- {
				a, s2 := g.attrs(inSlot || s, false)
				g.b.WriteString("<li" + a + ">")
				g.flow(depth-2, inSlot || s || s2)
				g.b.WriteString("</li>")
			}
			g.b.WriteString("</ul>")
		case k == 4:
			a, s := g.attrs(inSlot, false)
			g.b.WriteString("<table" + a + ">" + [...]string{"<tbody>", "", "<thead>\n"}[g.r.IntN(3)] + "<tr>")
			for j := g.r.IntN(3); j >= 0; j-- {
				cell := [...]string{"td", "th", "TD"}[g.r.IntN(3)]
				ca, cs := "", false
				if !inSlot && !s && g.r.IntN(3) == 0 {
					// A cell of a well-formed table is a slot, in the
					// modes that keep the offer inside it.
					ca, cs = g.cellMarker(), true
				}
				g.b.WriteString("<" + cell + ca + ">")
				g.flow(depth-2, inSlot || s || cs)
				g.b.WriteString("</" + cell + ">")
			}
			g.b.WriteString("</tr></table>")
		case k == 5:
			g.phrasing(depth-1, inSlot)
		default:
			tag := [...]string{"div", "section", "article", "my-widget"}[g.r.IntN(4)]
			a, s := g.attrs(inSlot, false)
			if g.r.IntN(8) == 0 {
				g.b.WriteString("<" + tag + a + "/>") // a start tag all the same
			} else {
				g.b.WriteString("<" + tag + a + ">")
			}
			g.flow(depth-1, inSlot || s)
			g.b.WriteString("</" + strings.ToUpper(tag[:1]) + tag[1:] + ">")
		}
	}
}

func (g *pageGen) phrasing(depth int, inSlot bool) {
	for i := g.r.IntN(3); i >= 0; i-- {
		switch k := g.r.IntN(6); {
		case depth <= 0 || k == 0:
			g.text()
		case k == 1:
			a, _ := g.attrs(inSlot, true)
			g.b.WriteString([...]string{"<img src=a.png", "<br", "<input type=text"}[g.r.IntN(3)] + a + ">")
		case k == 2:
			g.b.WriteString(`<script>document.write("</p>")</script>`)
		default:
			tag := [...]string{"span", "b", "i", "em"}[g.r.IntN(4)]
			a, s := g.attrs(inSlot, false)
			g.b.WriteString("<" + tag + a + ">")
			g.phrasing(depth-1, inSlot || s)
			g.b.WriteString("</" + tag + ">")
		}
	}
}

func (g *pageGen) text() {
	g.b.WriteString([...]string{"hello", " a < b ", "&amp; more", "x", "\n  ", "5 > 3", "ünïcödé"}[g.r.IntN(7)])
}

// genPage returns a random page and the names of the markers that must be
// slots, in document order.
func genPage(r *rand.Rand) (string, []string) {
	g := &pageGen{r: r}
	g.b.WriteString("<!DOCTYPE html><html><head><title>t</title>")
	if r.IntN(2) == 0 {
		g.b.WriteString(g.deadMarkup())
	}
	g.b.WriteString("</head><body>")
	g.flow(5, false)
	g.b.WriteString("</body></html>")
	return g.b.String(), g.live
}

// TestGeneratedPages checks on random pages that exactly the live markers
// become slots and that splicing changes nothing outside them.
func TestGeneratedPages(t *testing.T) {
	c, _ := NewCompiler(nil, testOptions)
	rules := []SlotRule{
		{Name: "sec", Selector: "section > p", Mode: ModeAppend},
		{Name: "c3", Selector: ".c3:empty, li:nth-child(2), em:only-child", Mode: ModeOuter},
		{Name: "w", Selector: "my-widget", Mode: ModeBefore},
	}
	sel, _ := NewCompiler(rules, Options{CompileBudget: time.Minute})
	ref, _ := NewCompiler(rules, Options{CompileBudget: time.Minute})
	ref.verbatimCopy = true
	r := rand.New(rand.NewPCG(5, 6))
	n := 3000
	if testing.Short() {
		n = 300
	}
	for i := 0; i < n; i++ {
		page, live := genPage(r)
		body := []byte(page)
		p, err := c.Plan(body, "text/html")
		if err != nil {
			t.Fatalf("page %d: %v\n%s", i, err, page)
		}
		var got []string
		for j := 0; j < p.NumSlots(); j++ {
			got = append(got, p.Slot(j).Name)
		}
		if !slices.Equal(got, live) {
			t.Fatalf("page %d: got slots %q, want %q\n%s", i, got, live, page)
		}
		checkInvariant(t, p, body)
		// The selector path on the same page: its shrunken private copy
		// must match like a verbatim one.
		sp, err := sel.Plan(body, "text/html")
		want, wantErr := ref.Compile(body, "text/html")
		if !errors.Is(err, wantErr) && !errors.Is(wantErr, err) || err == nil && !samePlan(sp, want) {
			t.Fatalf("page %d selectors: got %v %+v, want %v %+v\n%s", i, err, sp, wantErr, want, page)
		}
		if err == nil {
			checkInvariant(t, sp, body)
		}
	}
}
