package inject

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// markerForms are the slot markers inserted into corpus documents. Each is
// named "mqx", a name no corpus document contains.
var markerForms = []string{
	`<div data-marquee-slot="mqx">fallback</div>`,
	`<span DATA-MARQUEE-SLOT=mqx>fb</span>`,
	`<img data-marquee-slot='mqx'>`,
	`<p data-marquee-slot=mqx data-marquee-mode=outer>fb</p>`,
	`<td data-marquee-slot=mqx>c</td>`,
}

// realElement returns the tag names of the HTML elements (outside any
// template) that the tree builder creates carrying the marker. A slot must be
// one of them.
func realElement(doc []byte) []string {
	root, err := html.Parse(bytes.NewReader(doc))
	if err != nil {
		return nil
	}
	var found []string
	var walk func(n *html.Node, inTemplate bool)
	walk = func(n *html.Node, inTemplate bool) {
		if n.Type == html.ElementNode && n.Namespace == "" && !inTemplate {
			for _, a := range n.Attr {
				if a.Key == markerAttr && a.Val == "mqx" {
					found = append(found, n.Data)
				}
			}
		}
		t := inTemplate || n.Type == html.ElementNode && n.DataAtom == atom.Template
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c, t)
		}
	}
	walk(root, false)
	return found
}

// sentinel is the offer of the content check.
const sentinel = "QQSENTINEL"

// fosters reports elements whose text content the tree builder moves out.
func fosters(name string) bool {
	switch name {
	case "table", "tbody", "thead", "tfoot", "tr", "colgroup", "frameset", "html", "head":
		return true
	}
	return false
}

// contentIsSentinel reports whether, in the tree built from doc, an element
// carrying the marker has the sentinel as its only text and the sentinel
// appears nowhere else: the slot's range was exactly the element's content.
// Formatting elements the tree builder reconstructs around the text (a <b>
// left open before the slot) are allowed.
func contentIsSentinel(doc []byte) bool {
	root, err := html.Parse(bytes.NewReader(doc))
	if err != nil {
		return false
	}
	exact, total := false, 0
	var text func(n *html.Node) string
	text = func(n *html.Node) string {
		var s string
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			switch c.Type {
			case html.TextNode:
				s += c.Data
			case html.ElementNode:
				s += text(c)
			}
		}
		return s
	}
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			total += strings.Count(n.Data, sentinel)
		}
		if n.Type == html.ElementNode {
			for _, a := range n.Attr {
				if a.Key == markerAttr && a.Val == "mqx" && text(n) == sentinel {
					exact = true
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(root)
	return exact && total == 1
}

// positions picks the insertion offsets tried in a document of length n:
// all of them for short documents, a spread plus random ones otherwise.
func positions(n int, r *rand.Rand, max int) []int {
	if n+1 <= max {
		ps := make([]int, n+1)
		for i := range ps {
			ps[i] = i
		}
		return ps
	}
	ps := make([]int, 0, max)
	for i := 0; i < max/2; i++ {
		ps = append(ps, i*n/(max/2))
	}
	for len(ps) < max {
		ps = append(ps, r.IntN(n+1))
	}
	return append(ps, n)
}

// TestHTML5LibCorpus runs every corpus document, alone and with markers put
// at many offsets, through compile and splice: no panic, bytes outside slots
// unchanged, and a slot only where the tree builder makes a real element.
func TestHTML5LibCorpus(t *testing.T) {
	docs := html5libDocs(t)
	c, err := NewCompiler(nil, testOptions)
	if err != nil {
		t.Fatal(err)
	}
	maxPos := 24
	if testing.Short() {
		maxPos = 6
	}
	r := rand.New(rand.NewPCG(1, 2))
	var runs, slots, refused int
	for _, d := range docs {
		if p, err := c.Compile(d, "text/html"); err == nil {
			checkInvariant(t, p, d)
		}
		for _, form := range markerForms {
			for _, pos := range positions(len(d), r, maxPos) {
				doc := make([]byte, 0, len(d)+len(form))
				doc = append(append(append(doc, d[:pos]...), form...), d[pos:]...)
				runs++
				p, err := c.Compile(doc, "text/html; charset=utf-8")
				if err != nil {
					refused++
					continue
				}
				checkInvariant(t, p, doc)
				if i := p.Index("mqx"); i >= 0 {
					slots++
					s := p.Slot(i)
					var z lexer
					z.reset(doc, s.ElementStart)
					if z.next() != tokStartTag {
						t.Fatalf("slot at %d does not start with a tag: %q", s.ElementStart, doc)
					}
					name := string(bytes.ToLower(z.name()))
					if name == "image" {
						name = "img" // the tree builder renames it
					}
					if els := realElement(doc); !slices.Contains(els, name) {
						t.Fatalf("marker at %d makes a %s slot, but the tree has %q: %q", pos, name, els, doc)
					}
					if s.Mode == ModeInner && !fosters(name) {
						out := p.AppendSplice(nil, doc, [][]byte{[]byte(sentinel)})
						if !contentIsSentinel(out) {
							t.Fatalf("offer in the %s slot is not exactly the element's content: %q", name, out)
						}
					}
				}
			}
		}
	}
	t.Logf("%d documents, %d runs, %d with the marker as a slot, %d refused", len(docs), runs, slots, refused)
}

// TestHTML5LibSelectors runs the corpus through the selector path.
func TestHTML5LibSelectors(t *testing.T) {
	docs := html5libDocs(t)
	c, err := NewCompiler([]SlotRule{
		{Name: "div", Selector: "div"},
		{Name: "b", Selector: "p > b", Mode: ModeAfter},
		{Name: "td", Selector: "td:first-child", Mode: ModeOuter},
		{Name: "a", Selector: "a[href]", Mode: ModePrepend},
		{Name: "e", Selector: "span:empty, p:only-child, #x, .y, li:nth-child(2), font, input", Mode: ModeAfter},
	}, testOptions)
	if err != nil {
		t.Fatal(err)
	}
	ref, _ := NewCompiler(c.rules, testOptions)
	ref.verbatimCopy = true
	var slots int
	for _, d := range docs {
		p, err := c.Compile(d, "text/html")
		q, refErr := ref.Compile(d, "text/html")
		if !errors.Is(err, refErr) && !errors.Is(refErr, err) {
			t.Fatalf("got error %v, want %v as with the verbatim copy: %q", err, refErr, d)
		}
		if err != nil {
			continue
		}
		if !samePlan(p, q) {
			t.Fatalf("got %+v, want %+v as with the verbatim copy: %q", p.slots, q.slots, d)
		}
		slots += p.NumSlots()
		checkInvariant(t, p, d)
	}
	if slots == 0 {
		t.Fatalf("got no selector slots in the corpus, want some")
	}
}
