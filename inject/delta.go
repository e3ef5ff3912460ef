package inject

import (
	"bytes"
	"slices"

	"golang.org/x/net/html/atom"
)

// The changed-page path. Shop pages often differ on every request in a few
// bytes outside any slot: a CSP nonce, a CSRF token, a timestamp. Compiling
// each is a full scan; instead deltaPlan compares the new body with a cached
// one and re-tokenizes only the regions that differ.
//
// Why it is sound: the scan (and, for selector rules, the tree the selectors
// run on) is a function of the token sequence's shape — kinds, tag and
// attribute names, self-closing flags — plus a few attribute values and, for
// selectors, the kind of each text run. Starting both bodies' lexers at a
// checkpoint before a difference, in the same state, deltaPlan walks them in
// lockstep and requires every pair of tokens to have the same shape, until
// both have passed the difference at a token boundary. From there the bytes
// are equal again, so the lexers, in equal states, produce equal tokens up to
// the next difference. Same shapes everywhere means the same slots; only
// offsets after a region move, by its change in length. Anything the lockstep
// walk does not model (SVG, MathML, <select>) aborts it, and the page is
// compiled.

// Bounds of the work spent before giving up and compiling.
const (
	maxWindows     = 16
	maxWindowBytes = 16 << 10
	maxAttempts    = 4 // siblings tried per miss
)

// window maps a changed region [a0, a1) of the old body to [b0, b1) of the
// new one.
type window struct {
	a0, a1, b0, b1 int
}

type deltaState struct {
	la, lb lexer
	wins   []window
	offs   []int    // slot offsets of the old plan, ascending
	maps   [][2]int // slot offsets inside windows: old, new
}

// deltaPlan returns the plan of body b derived from cached entry e, or nil
// when the difference cannot be shown harmless cheaply.
func (c *Compiler) deltaPlan(e *entry, b []byte) *Plan {
	a, p := e.body, e.plan
	if p == nil {
		return nil
	}
	d, _ := c.dpool.Get().(*deltaState)
	if d == nil {
		d = &deltaState{}
	}
	defer c.dpool.Put(d)
	d.wins, d.maps, d.offs = d.wins[:0], d.maps[:0], d.offs[:0]
	for i := range p.slots {
		s := &p.slots[i]
		d.offs = append(d.offs, s.ElementStart, s.ContentStart, s.ContentEnd, s.ElementEnd)
	}
	oi := 0
	la, lb := &d.la, &d.lb
	la.reset(a, 0)
	lb.reset(b, 0)
	ia, ib := 0, 0
	live := false // the lockstep lexers are positioned at ia, ib
	first := 0    // the first difference: the encoding depends on what precedes
	work := 0
	for {
		n := commonPrefix(a[ia:], b[ib:])
		ia += n
		ib += n
		if ia == len(a) && ib == len(b) {
			break
		}
		if len(d.wins) == maxWindows {
			return nil
		}
		if len(d.wins) == 0 {
			first = ia
		}
		// Start at the last checkpoint before the difference, or carry on
		// from the previous window when no checkpoint lies in between.
		syncA := la.pos
		ck := -1
		if i, _ := slices.BinarySearch(p.checkpoints, ia+1); i > 0 {
			ck = p.checkpoints[i-1]
		}
		var a0, b0 int
		switch {
		case ck >= 0 && (!live || ck >= syncA):
			a0, b0 = ck, ck+(ib-ia)
			la.reset(a, a0)
			lb.reset(b, b0)
		case live:
			a0, b0 = la.pos, lb.pos
		default:
			a0, b0 = 0, 0
			la.reset(a, 0)
			lb.reset(b, 0)
		}
		live = true
		for oi < len(d.offs) && d.offs[oi] < a0 {
			oi++ // before the window: moved with the previous regions
		}
		for la.pos <= ia || lb.pos <= ib {
			ka := la.next()
			lb.next()
			if !c.sameShape(la, lb) {
				return nil
			}
			// Slot offsets are token boundaries; carry them over from the
			// tokens of the old body to the matching tokens of the new.
			for ; oi < len(d.offs) && d.offs[oi] <= la.end; oi++ {
				switch o := d.offs[oi]; o {
				case la.start:
					d.maps = append(d.maps, [2]int{o, lb.start})
				case la.end:
					d.maps = append(d.maps, [2]int{o, lb.end})
				default:
					return nil
				}
			}
			if ka == tokEOF {
				break
			}
			if ka == tokStartTag {
				switch at := lookupAtom(la.name()); at {
				case atom.Svg, atom.Math, atom.Select:
					return nil
				default:
					if k, name := rawKindOf(at); k != rawNone {
						la.setRaw(k, name)
						lb.setRaw(k, name)
					}
				}
			}
		}
		work += la.pos - a0
		if work > maxWindowBytes {
			return nil
		}
		d.wins = append(d.wins, window{a0, la.pos, b0, lb.pos})
		ia, ib = la.pos, lb.pos
	}
	if len(d.wins) == 0 {
		return p // identical bodies: the exact lookup raced with an eviction
	}
	if first < 3 || first < prescanWindow && !hasCharsetParam(e.ctype) {
		// The encoding could have changed (a <meta charset>, a BOM); a
		// charset parameter in the Content-Type wins over the former.
		cs, ncr, err := pageCharset(b, e.ctype)
		if err != nil || cs != p.charset || ncr != p.ncr {
			return nil
		}
	}
	moved := len(a) != len(b)
	for _, o := range d.offs {
		if d.newOffset(o) != o {
			moved = true
			break
		}
	}
	if !moved {
		return p
	}
	q := &Plan{slots: slices.Clone(p.slots), charset: p.charset, ncr: p.ncr, size: len(b)}
	for i := range q.slots {
		s := &q.slots[i]
		for _, o := range [...]*int{&s.ElementStart, &s.ContentStart, &s.ContentEnd, &s.ElementEnd, &s.Start, &s.End} {
			*o = d.newOffset(*o)
		}
	}
	return q
}

// newOffset maps a slot offset of the old body to the new one. The maps are
// in ascending order of old offset, as the windows were walked.
func (d *deltaState) newOffset(o int) int {
	if i, ok := slices.BinarySearchFunc(d.maps, o, func(m [2]int, o int) int { return m[0] - o }); ok {
		return d.maps[i][1]
	}
	return shiftOffset(d.wins, o)
}

// shiftOffset maps an offset of the old body outside every window to the new
// body.
func shiftOffset(wins []window, o int) int {
	delta := 0
	for _, w := range wins {
		if o < w.a1 {
			break
		}
		delta = w.b1 - w.a1
	}
	return o + delta
}

// sameShape reports whether the current tokens of la and lb are
// interchangeable for the scan and for selector matching.
func (c *Compiler) sameShape(la, lb *lexer) bool {
	if la.kind != lb.kind {
		return false
	}
	switch la.kind {
	case tokStartTag, tokEndTag:
		if !bytes.Equal(la.name(), lb.name()) || la.selfClosing != lb.selfClosing {
			return false
		}
		if la.kind == tokEndTag {
			return true // the tree builder ignores end tag attributes
		}
		if len(la.attrs) != len(lb.attrs) {
			return false
		}
		for i := range la.attrs {
			x, y := la.attrs[i], lb.attrs[i]
			xn, yn := la.buf[x.nameStart:x.nameEnd], lb.buf[y.nameStart:y.nameEnd]
			if !bytes.Equal(xn, yn) {
				return false
			}
			if (x.valStart < 0) != (y.valStart < 0) {
				return false
			}
			if x.valStart >= 0 && (valueSensitive(xn) || c.selectorReads(xn)) &&
				!bytes.Equal(la.buf[x.valStart:x.valEnd], lb.buf[y.valStart:y.valEnd]) {
				return false
			}
		}
		return true
	case tokText:
		x, y := la.buf[la.start:la.end], lb.buf[lb.start:lb.end]
		if len(c.sels) == 0 {
			return true
		}
		if c.textSensitive {
			return bytes.Equal(x, y)
		}
		cx, cy := textClass(x), textClass(y)
		if cx == textSpecial || cy == textSpecial {
			return bytes.Equal(x, y)
		}
		return cx == cy
	case tokRawText:
		return !c.textSensitive || bytes.Equal(la.buf[la.start:la.end], lb.buf[lb.start:lb.end])
	case tokDoctype:
		// The doctype decides quirks mode, which changes tree building.
		return bytes.Equal(la.buf[la.start:la.end], lb.buf[lb.start:lb.end])
	}
	return true
}

// selectorReads reports whether a selector rule reads attribute name.
func (c *Compiler) selectorReads(name []byte) bool {
	for _, s := range c.selAttrs {
		if equalFoldASCII(name, s) {
			return true
		}
	}
	return false
}

// valueSensitive reports attributes whose values the scan or the tree
// builder reads, and the ones selectors most often test.
func valueSensitive(name []byte) bool {
	switch len(name) {
	case 2:
		return equalFoldASCII(name, "id")
	case 4:
		return equalFoldASCII(name, "type") || equalFoldASCII(name, "face") || equalFoldASCII(name, "size")
	case 5:
		return equalFoldASCII(name, "class") || equalFoldASCII(name, "color")
	case 7:
		return equalFoldASCII(name, "charset")
	case 8:
		return equalFoldASCII(name, "encoding")
	case 10:
		return equalFoldASCII(name, "http-equiv")
	case len(markerAttr):
		return equalFoldASCII(name, markerAttr) || equalFoldASCII(name, modeAttr)
	}
	return false
}

// Text classes that decide how the tree builder treats a text run (in tables
// and before <body> whitespace and other text go different ways).
const (
	textEmpty = iota
	textSpace
	textSpaceThenOther
	textOther
	textSpecial // character references or NUL: compare bytes
)

func textClass(t []byte) int {
	if len(t) == 0 {
		return textEmpty
	}
	if bytes.IndexByte(t, '&') >= 0 || bytes.IndexByte(t, 0) >= 0 {
		return textSpecial
	}
	i := 0
	for i < len(t) && isSpace(t[i]) {
		i++
	}
	switch {
	case i == len(t):
		return textSpace
	case i > 0:
		return textSpaceThenOther
	}
	return textOther
}

// hasCharsetParam reports whether a Content-Type value names a charset
// (ASCII case-insensitively), without allocating.
func hasCharsetParam(ct string) bool {
	const key = "charset="
	for i := 0; i+len(key) <= len(ct); i++ {
		if equalFoldASCII([]byte(ct[i:i+len(key)]), key) {
			return true
		}
	}
	return false
}

// commonPrefix returns the length of the longest common prefix of x and y,
// comparing in blocks with bytes.Equal (vectorised) before narrowing down.
func commonPrefix(x, y []byte) int {
	n := min(len(x), len(y))
	const block = 256
	i := 0
	for i+block <= n && bytes.Equal(x[i:i+block], y[i:i+block]) {
		i += block
	}
	for i < n && x[i] == y[i] {
		i++
	}
	return i
}
