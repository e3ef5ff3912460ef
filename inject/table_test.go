package inject

import (
	"bytes"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// cellContent returns the text content of every element carrying
// data-marquee-slot="c" in the tree html5lib's algorithm builds from doc,
// and whether each one is a td or th whose parent is a tr.
func cellContent(t *testing.T, doc []byte) (texts []string, inRow []bool) {
	t.Helper()
	root, err := html.Parse(bytes.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	var text func(n *html.Node) string
	text = func(n *html.Node) string {
		var b strings.Builder
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			if c.Type == html.TextNode {
				b.WriteString(c.Data)
			} else {
				b.WriteString(text(c))
			}
		}
		return b.String()
	}
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && n.Namespace == "" {
			for _, a := range n.Attr {
				if a.Key == markerAttr && a.Val == "c" {
					texts = append(texts, text(n))
					inRow = append(inRow, (n.Data == "td" || n.Data == "th") && n.Parent != nil && n.Parent.Data == "tr")
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(root)
	return texts, inRow
}

// Cells in well-formed tables are slots; the tree builder agrees that each
// is a cell of a row whose content is exactly the offer. Malformed tables
// stay unfilled.
func TestTableCellSlots(t *testing.T) {
	filled := []string{
		`<table><tr><td data-marquee-slot=c>fb</td></tr></table>`,
		`<table><tbody><tr><td data-marquee-slot=c>fb</td><td>2</td></tr></tbody></table>`,
		`<TABLE><THEAD><TR><TH Data-Marquee-Slot=c>fb</TH></TR></THEAD><TBODY><TR><TD>x</TD></TR></TBODY></TABLE>`,
		`<table><tfoot><tr><th data-marquee-slot=c data-marquee-mode=append>fb</th></tr></tfoot></table>`,
		"<table>\n <tr>\n  <td>a</td>\n  <td data-marquee-slot=c><b>fb</b></td>\n </tr>\n</table>",
		`<table><tr><td>a<td data-marquee-slot=c>fb</td></table>`,
		`<table><tr><td>a</tr><tr><td data-marquee-slot=c>fb</td></tr></table>`,
		`<table><tbody><tr><td>1</td></tr><tbody><tr><td data-marquee-slot=c>fb</td></tr></table>`,
		`<table><tr><td><table><tr><td>in</td></tr></table></td><td data-marquee-slot=c>fb</td></tr></table>`,
		`<table><tr><td><table><tr><td data-marquee-slot=c>fb</td></tr></table></td></tr></table>`,
		`<table><script>var t = "<td>";</script><tr><td data-marquee-slot=c>fb</td></tr></table>`,
		`<table><!-- <td> --><tr><td data-marquee-slot=c>fb</td></tr></table>`,
		`<table><tr><td><svg><rect/></svg></td><td data-marquee-slot=c>fb</td></tr></table>`,
		`<table><tr><td><div><span>x</td><td data-marquee-slot=c>fb</td></tr></table>`,
		`<p>a<table><tr><td data-marquee-slot=c>fb</td></tr></table>`,
		`<table><tr><td data-marquee-slot=c>fb</td></tr></table><table><tr><td data-marquee-slot=c>fb</td></tr></table>`,
	}
	unfilled := []string{
		`<td data-marquee-slot=c>fb</td>`,
		`<table><td data-marquee-slot=c>fb</td></table>`,
		`<table><tbody><td data-marquee-slot=c>fb</td></tbody></table>`,
		`<table><div>x</div><tr><td data-marquee-slot=c>fb</td></tr></table>`,
		`<table><tr><div>x</div><td data-marquee-slot=c>fb</td></tr></table>`,
		`<table><caption>c</caption><tr><td data-marquee-slot=c>fb</td></tr></table>`,
		`<table><colgroup><col></colgroup><tr><td data-marquee-slot=c>fb</td></tr></table>`,
		`<table><form><tr><td data-marquee-slot=c>fb</td></tr></table>`,
		`<table><tr><td><select><option>1</td><td data-marquee-slot=c>fb</td></tr></table>`,
		`<table><tr><td><svg><foreignObject></td></foreignObject></svg><td data-marquee-slot=c>fb</td></tr></table>`,
		`<select><table><tr><td data-marquee-slot=c>fb</td></tr></table></select>`,
		`<template><table><tr><td data-marquee-slot=c>fb</td></tr></table></template>`,
		`<table><tr><td data-marquee-slot=c data-marquee-mode=outer>fb</td></tr></table>`,
		`<table><tr><th data-marquee-slot=c data-marquee-mode=before>fb</th></tr></table>`,
		`<table><tr><td data-marquee-slot=c><tr>fb</td></tr></table>`,
		`<table><tr><td data-marquee-slot=c>fb<td>2</tr></table>`,
		`<table><tr><td data-marquee-slot=c>fb</tr></table>`,
		`<table><tr><td data-marquee-slot=c>fb</table>`,
		`<frameset><table><tr><td data-marquee-slot=c>fb</td></tr></table>`,
		`<table><table><tr><td data-marquee-slot=c>fb</td></tr></table>`,
	}
	c, err := NewCompiler(nil, testOptions)
	if err != nil {
		t.Fatal(err)
	}
	check := func(doc string, want bool) {
		t.Helper()
		body := []byte(doc)
		p, err := c.Compile(body, "text/html")
		got := err == nil && p.Index("c") >= 0
		if got != want {
			t.Errorf("%s: filled %v (err %v), want %v", doc, got, err, want)
			return
		}
		if err != nil {
			return
		}
		checkInvariant(t, p, body)
		// Whatever the scan decided, the tree builder must agree: every
		// cell slot is a td or th of a row, holding exactly the offer.
		offers := make([][]byte, p.NumSlots())
		for i := range offers {
			offers[i] = []byte("OFFER")
		}
		out := p.AppendSplice(nil, body, offers)
		texts, inRow := cellContent(t, out)
		for i := 0; i < p.NumSlots(); i++ {
			s := p.Slot(i)
			if s.Name != "c" {
				continue
			}
			k := 0
			for j := 0; j < i; j++ {
				if p.Slot(j).Name == "c" {
					k++
				}
			}
			if k >= len(texts) || !inRow[k] {
				t.Errorf("%s: slot %d is not a cell of a row in the tree of %q", doc, i, out)
				continue
			}
			wantText := "OFFER"
			switch s.Mode {
			case ModeAppend:
				wantText = "fbOFFER"
			case ModePrepend:
				wantText = "OFFERfb"
			}
			if texts[k] != wantText {
				t.Errorf("%s: cell holds %q in the tree of %q, want %q", doc, texts[k], out, wantText)
			}
		}
	}
	for _, d := range filled {
		check(d, true)
	}
	for _, d := range unfilled {
		check(d, false)
	}
	// A selector picks cells the same way.
	sc, err := NewCompiler([]SlotRule{{Name: "c", Selector: "td.promo"}}, testOptions)
	if err != nil {
		t.Fatal(err)
	}
	if p, err := sc.Compile([]byte(`<table><tr><td>1</td><td class=promo>fb</td></tr></table>`), "text/html"); err != nil || p.NumSlots() != 1 {
		t.Errorf("selector on a cell: %v %v", p, err)
	}
	if p, err := sc.Compile([]byte(`<table><p>x<tr><td class=promo>fb</td></tr></table>`), "text/html"); err != nil || p.NumSlots() != 0 {
		t.Errorf("selector on a cell of a malformed table: %v %v", p, err)
	}
}
