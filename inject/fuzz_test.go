package inject

import (
	"bytes"
	"errors"
	"slices"
	"testing"
	"time"
)

// FuzzCompileSplice feeds arbitrary documents, with a slot marker inserted at
// an arbitrary offset, through compile and splice, and a one-byte change of
// the same document through the changed-page path. It checks that nothing
// panics, that bytes outside slots never change, that every slot is an
// element the tree builder creates, and that a derived plan equals a fresh
// compile. Seeded from the html5lib corpus when it is available.
func FuzzCompileSplice(f *testing.F) {
	f.Add([]byte(`<div data-marquee-slot=a>x</div>`), uint16(0), uint16(3), byte('x'))
	f.Add([]byte(`<!doctype html><p>a<script>"</p>"</script><b>b</b>`), uint16(5), uint16(20), byte('<'))
	for i, name := range rawTextHosts {
		f.Add([]byte("<p>a</p><"+mixedCase(name)+" id=r DATA-marquee-SLOT=r>x</"+name+"><b>b</b>"), uint16(i), uint16(i*5), byte('<'))
	}
	f.Add([]byte(`<table><tr><td data-marquee-slot=c>1</td><th>2</th></tr></table>`), uint16(0), uint16(30), byte('x'))
	f.Add([]byte(`<table><tbody><tr><th data-marquee-slot=h>1</th></tr></tbody></table>`), uint16(7), uint16(40), byte('/'))
	for i, d := range html5libDocsIfPresent() {
		f.Add(d, uint16(i*7), uint16(i*13), "x<>\"'-/= "[i%9])
	}
	markers, _ := NewCompiler(nil, Options{CompileBudget: time.Minute})
	selectors, _ := NewCompiler([]SlotRule{{Name: "d", Selector: "div > p, span"}, {Name: "b", Selector: "[id], :empty, li:nth-child(2)", Mode: ModeOuter}}, Options{CompileBudget: time.Minute})
	verbatim, _ := NewCompiler(selectors.rules, Options{CompileBudget: time.Minute})
	verbatim.verbatimCopy = true
	f.Fuzz(func(t *testing.T, doc []byte, at, mutAt uint16, mut byte) {
		if len(doc) > 4096 {
			return
		}
		form := markerForms[int(at)%len(markerForms)]
		pos := int(at) % (len(doc) + 1)
		in := slices.Concat(doc[:pos], []byte(form), doc[pos:])
		// The shrunken private copy must match like the page itself.
		p, err := selectors.Compile(in, "text/html")
		q, refErr := verbatim.Compile(in, "text/html")
		if !errors.Is(err, refErr) && !errors.Is(refErr, err) || err == nil && !samePlan(p, q) {
			t.Fatalf("selector path: got %v %+v, want %v %+v as with a verbatim copy", err, p, refErr, q)
		}
		for _, c := range []*Compiler{markers, selectors} {
			p, err := c.Compile(in, "text/html")
			if err != nil {
				continue
			}
			checkInvariant(t, p, in)
			for i := 0; i < p.NumSlots(); i++ {
				s := p.Slot(i)
				var z lexer
				z.reset(in, s.ElementStart)
				if z.next() != tokStartTag {
					t.Fatalf("slot %d does not start with a tag", i)
				}
				name := string(bytes.ToLower(z.name()))
				if slices.Contains(rawTextHosts, name) {
					t.Fatalf("slot %d on raw text element %s: %q", i, name, in)
				}
				if s.Rule >= 0 {
					continue
				}
				if name == "image" {
					name = "img"
				}
				if s.Name != "mqx" {
					continue
				}
				if !slices.Contains(realElement(in), name) {
					t.Fatalf("slot %s on %s is not an element of the tree: %q", s.Name, name, in)
				}
				if s.Mode == ModeInner && !fosters(name) {
					offers := make([][]byte, p.NumSlots())
					offers[i] = []byte(sentinel)
					if out := p.AppendSplice(nil, in, offers); !contentIsSentinel(out) {
						t.Fatalf("offer in the %s slot is not exactly the element's content: %q", name, out)
					}
				}
			}
		}
		// The changed-page path against a fresh compile.
		c, _ := NewCompiler(nil, Options{CompileBudget: time.Minute})
		if _, err := c.Plan(in, "text/html"); err != nil {
			return
		}
		m := bytes.Clone(in)
		if i := int(mutAt) % len(m); m[i] != mut {
			m[i] = mut
		} else {
			m = slices.Insert(m, i, mut)
		}
		got, gotErr := c.Plan(m, "text/html")
		want, wantErr := c.Compile(m, "text/html")
		if !errors.Is(gotErr, wantErr) && !errors.Is(wantErr, gotErr) {
			t.Fatalf("got error %v, want %v", gotErr, wantErr)
		}
		if wantErr == nil && !samePlan(got, want) {
			t.Fatalf("derived plan %+v, want %+v", got.slots, want.slots)
		}
	})
}
