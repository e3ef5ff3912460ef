package inject

import (
	"time"

	"golang.org/x/net/html/atom"
)

// The scanner is the single streaming pass that turns a body into slots. It
// runs the lexer, plays the part of the tree builder that decides tokenizer
// states (raw text elements, foreign content, templates), and tracks the
// elements opened inside a slot to find the slot's own end tag.
//
// Soundness over coverage: wherever the real tree builder would move the
// slot's boundary (implied end tags, the adoption agency algorithm, foster
// parenting, stray end tags) the scan fails with ErrMisnested and the page
// passes through. Markers inside comments, raw text, attribute values,
// <template> contents and foreign (SVG, MathML) content are not slots.

// checkpointEvery is the spacing, in bytes, of recorded resume points; the
// changed-page path re-scans at most about this much before a difference.
const checkpointEvery = 256

// budgetEvery is how many tokens pass between two clock reads.
const budgetEvery = 512

// maxDepth bounds the elements tracked inside a slot or in foreign content;
// the walks over them are what a pathological page could make quadratic.
const maxDepth = 512

// maxFormatting bounds the unclosed formatting elements a page may have on
// the selector path.
const maxFormatting = 256

// Attribute names of marked slots.
const (
	markerAttr = "data-marquee-slot"
	modeAttr   = "data-marquee-mode"
)

// elem is an open element: its atom, or its name offsets when the name is
// not one HTML knows.
type elem struct {
	a      atom.Atom
	ns, ne int
}

// forcedSlot is an element chosen by a selector rule, by start tag offset.
type forcedSlot struct {
	off  int
	rule int
}

// tagRef locates an HTML start tag for the selector path.
type tagRef struct {
	start, nameEnd int
}

// scanner holds the state of one scan. It is not reused across goroutines.
type scanner struct {
	lx       lexer
	rules    []SlotRule
	forced   []forcedSlot
	fi       int
	collect  bool
	tags     []tagRef
	copy     *privateCopy
	deadline time.Time

	template int
	selects  int
	forms    int
	frameset bool // frameset documents have no body content
	// formatting counts formatting elements opened and not closed, on the
	// selector path.
	formatting int
	foreign    []elem
	pOpen      bool
	// tables are the open tables around the current token, outside slots
	// (table.go); tablesLost, once the scan cannot follow them.
	tables     []tableFrame
	tablesLost bool

	inSlot  bool
	cur     SlotInfo
	slotEl  elem
	pAtSlot bool
	stack   []elem

	slots []SlotInfo
	// checkpoints are token boundaries, each just after a '>', where the
	// tokenizer is in the data state and no slot, template, select or
	// foreign element is open.
	checkpoints []int
	nextCk      int
	wasSimple   bool
}

// run scans body from the start and returns the slots in document order.
func (s *scanner) run(body []byte) error {
	s.lx.reset(body, 0)
	s.lx.skipText = s.copy == nil
	s.nextCk = checkpointEvery
	s.wasSimple = true
	for n := 1; ; n++ {
		if n%budgetEvery == 0 && !s.deadline.IsZero() && time.Now().After(s.deadline) {
			return ErrBudget
		}
		var err error
		ntags := len(s.tags)
		k := s.lx.next()
		switch k {
		case tokEOF:
			if s.inSlot {
				return ErrUnclosedSlot
			}
			return nil
		case tokStartTag:
			err = s.startTag()
		case tokEndTag:
			err = s.endTag()
		}
		if err != nil {
			return err
		}
		if s.copy != nil {
			s.writeCopy(len(s.tags) > ntags, ntags)
		}
		// Checkpoints follow a token that ends in its own '>', so that no
		// lookahead past the checkpoint decided where the token ended.
		// Also right after a construct a changed-page window must not
		// start inside (a slot, svg, template, select), so that a window
		// after it need not cross it.
		if endsInGT(k) {
			simple := s.simple()
			if simple && (s.lx.pos >= s.nextCk || !s.wasSimple) {
				s.checkpoints = append(s.checkpoints, s.lx.pos)
				s.nextCk = s.lx.pos + checkpointEvery
			}
			s.wasSimple = simple
		}
	}
}

func endsInGT(k tokKind) bool {
	return k == tokStartTag || k == tokEndTag || k == tokComment || k == tokDoctype
}

// simple reports whether the state at the current token boundary is fully
// described by a checkpoint.
func (s *scanner) simple() bool {
	return !s.inSlot && s.template == 0 && s.selects == 0 && len(s.foreign) == 0 &&
		s.lx.raw == rawNone && !s.lx.cdata
}

func (s *scanner) syncCDATA() {
	s.lx.cdata = len(s.foreign) > 0 && !s.isIP(s.foreign[len(s.foreign)-1])
}

func (s *scanner) isIP(e elem) bool { return isIntegrationPoint(s.lx.buf[e.ns:e.ne]) }

// sameName reports whether e has the current tag's name, comparing names as
// foreign content does (ASCII case-insensitively).
func (s *scanner) sameName(e elem) bool {
	return eqFoldBytes(s.lx.buf[e.ns:e.ne], s.lx.name())
}

// same reports whether e has the current tag's name.
func (s *scanner) same(e elem, a atom.Atom) bool {
	if e.a != 0 || a != 0 {
		return e.a == a
	}
	return eqFoldBytes(s.lx.buf[e.ns:e.ne], s.lx.name())
}

func (s *scanner) startTag() error {
	z := &s.lx
	var a atom.Atom
	if s.inSlot || len(s.foreign) > 0 {
		a = lookupAtom(z.name())
	} else {
		a = quickAtom(z.name())
	}
	if len(s.foreign) > 0 {
		top := s.foreign[len(s.foreign)-1]
		if s.isIP(top) {
			// HTML content inside an integration point: raw text elements
			// switch the tokenizer as usual; nothing here is a slot.
			if a == atom.Svg || a == atom.Math {
				if !z.selfClosing {
					s.foreign = append(s.foreign, elem{a, z.nameStart, z.nameEnd})
				}
				s.syncCDATA()
				return nil
			}
			if s.inSlot && !isVoid(a) {
				// Untracked HTML elements inside a slot could hide its end.
				return ErrMisnested
			}
			if k, name := rawKindOf(a); k != rawNone {
				z.setRaw(k, name)
			}
			return nil
		}
		breakout := isBreakout(a)
		if a == atom.Font {
			_, c := z.attrValue("color")
			_, f := z.attrValue("face")
			_, sz := z.attrValue("size")
			breakout = c || f || sz
		}
		if !breakout {
			if len(s.foreign) >= maxDepth {
				return ErrAmbiguous
			}
			if len(s.tables) > 0 && isIntegrationPoint(z.name()) {
				// End tags in its HTML content may close the cell around
				// it, which the scan does not follow there.
				s.loseTables()
			}
			if !z.selfClosing {
				s.foreign = append(s.foreign, elem{a, z.nameStart, z.nameEnd})
			}
			s.syncCDATA()
			return nil
		}
		if s.inSlot {
			return ErrMisnested
		}
		for len(s.foreign) > 0 && !s.isIP(s.foreign[len(s.foreign)-1]) {
			s.foreign = s.foreign[:len(s.foreign)-1]
		}
		s.syncCDATA()
		if len(s.foreign) > 0 {
			return nil
		}
	}

	if s.collect {
		s.tags = append(s.tags, tagRef{z.start, z.nameEnd})
		if isFormatting(lookupAtom(z.name())) {
			// Unclosed formatting elements make tree building quadratic
			// (each insertion reconstructs them), and the parse of the
			// selector path cannot be interrupted: refuse such pages.
			if s.formatting++; s.formatting > maxFormatting {
				return ErrBudget
			}
		}
	}
	rule, name, mode, isSlot := -1, "", ModeInner, false
	if !s.inSlot && s.template == 0 && !s.frameset {
		rule, name, mode, isSlot = s.slotFor(a)
	}
	if isSlot && a == 0 {
		a = lookupAtom(z.name())
	}
	cell := false
	if s.tracksTables(a) {
		if a == 0 {
			a = lookupAtom(z.name())
		}
		cell = s.tableStart(a, isSlot)
	}
	if s.inSlot {
		if err := s.checkStart(a); err != nil {
			return err
		}
	}
	void := isVoid(a)
	switch a {
	case atom.Svg, atom.Math:
		if !z.selfClosing {
			s.foreign = append(s.foreign, elem{a, z.nameStart, z.nameEnd})
			s.syncCDATA()
			if s.inSlot {
				s.stack = append(s.stack, elem{a, z.nameStart, z.nameEnd})
			}
		}
		return nil
	case atom.Template:
		s.template++
	case atom.Select:
		s.selects++
	case atom.Form:
		s.forms++
	case atom.Frameset:
		s.frameset = true
	case atom.P:
		s.pOpen = true
	}
	if k, rname := rawKindOf(a); k != rawNone {
		if isSlot {
			// An offer is escaped as HTML text; inside script, style or
			// any other raw text its characters would be code or
			// markup-less text the escaping does not protect.
			return ErrRawTextSlot
		}
		if s.selects > 0 && a != atom.Script && a != atom.Textarea {
			// Whether the tree builder inserts these inside <select> (and so
			// whether their content is text) changed between versions of
			// the standard; do not guess.
			return ErrAmbiguous
		}
		z.setRaw(k, rname)
	}
	if s.inSlot {
		if !void {
			if len(s.stack) >= maxDepth {
				return ErrAmbiguous
			}
			s.stack = append(s.stack, elem{a, z.nameStart, z.nameEnd})
		}
		return nil
	}
	if !isSlot {
		return nil
	}
	switch {
	case a == atom.Html || a == atom.Head || a == atom.Body || a == atom.Frameset:
		// Their end tags are implied or never come; content after them
		// joins them in the tree.
		return nil
	case isCell(a) && cell:
		if mode != ModeInner && mode != ModePrepend && mode != ModeAppend {
			// An offer outside the cell would be foster-parented.
			return nil
		}
	case isTablePart(a):
		// Only the table insertion modes create these; elsewhere the tree
		// builder drops the tag, so the marker would mark nothing. Cells
		// the table tracker follows are the exception above.
		return nil
	case a == atom.Form && s.forms > 1, a == atom.Select && s.selects > 1:
		// A form inside a form, a select inside a select: the tag is
		// ignored (§13.2.6.4.7, "in select").
		return nil
	case s.selects > 0 && a != atom.Select && a != atom.Option && a != atom.Optgroup && a != atom.Hr:
		// Whether other elements exist inside <select> changed between
		// versions of the standard.
		return nil
	}
	if void {
		switch mode {
		case ModeInner:
			mode = ModeOuter
		case ModePrepend, ModeAppend:
			return nil
		}
	}
	s.cur = SlotInfo{Name: name, Mode: mode, Rule: rule, ElementStart: z.start, ContentStart: z.end}
	if void {
		s.cur.ContentEnd, s.cur.ElementEnd = z.end, z.end
		s.finishSlot()
		return nil
	}
	s.inSlot = true
	s.slotEl = elem{a, z.nameStart, z.nameEnd}
	s.pAtSlot = s.pOpen && !closesP(a) && !isScopeBoundary(a)
	s.stack = s.stack[:0]
	return nil
}

// slotFor decides whether the current start tag opens a slot: a marker
// attribute first, then the selector rules in order.
func (s *scanner) slotFor(a atom.Atom) (rule int, name string, mode Mode, ok bool) {
	z := &s.lx
	for s.fi < len(s.forced) && s.forced[s.fi].off < z.start {
		s.fi++
	}
	if v, has := z.attrValue(markerAttr); has {
		if len(v) == 0 {
			return -1, "", ModeInner, false
		}
		mode := ModeInner
		if mv, hasMode := z.attrValue(modeAttr); hasMode {
			m, known := parseModeBytes(mv)
			if !known {
				return -1, "", ModeInner, false
			}
			mode = m
		}
		return -1, string(v), mode, true
	}
	if s.fi < len(s.forced) && s.forced[s.fi].off == z.start {
		r := s.forced[s.fi].rule
		return r, s.rules[r].Name, s.rules[r].Mode, true
	}
	return -1, "", ModeInner, false
}

func (s *scanner) endTag() error {
	z := &s.lx
	var a atom.Atom
	if s.inSlot || len(s.foreign) > 0 {
		a = lookupAtom(z.name())
	} else {
		a = quickAtom(z.name())
	}
	if len(s.foreign) > 0 {
		top := s.foreign[len(s.foreign)-1]
		if s.isIP(top) && !s.sameName(top) {
			// An end tag inside an integration point's HTML content closes
			// nothing outside it ("foreignObject" etc. are special).
			return nil
		}
		for j := len(s.foreign) - 1; j >= 0; j-- {
			if s.sameName(s.foreign[j]) {
				s.foreign = s.foreign[:j]
				s.syncCDATA()
				if j > 0 {
					return nil
				}
				// The svg or math element itself: close it as HTML.
				return s.htmlEnd(a)
			}
		}
		// Any other end tag closes the foreign content first.
		if s.inSlot {
			return ErrMisnested
		}
		s.foreign = s.foreign[:0]
		s.syncCDATA()
	}
	return s.htmlEnd(a)
}

func (s *scanner) htmlEnd(a atom.Atom) error {
	if s.tracksTables(a) {
		if a == 0 {
			a = lookupAtom(s.lx.name())
		}
		s.tableEnd(a)
	}
	if s.collect && s.formatting > 0 && isFormatting(lookupAtom(s.lx.name())) {
		s.formatting--
	}
	switch a {
	case atom.Template:
		if s.template > 0 {
			s.template--
		}
	case atom.Select:
		if s.selects > 0 {
			s.selects--
		}
	case atom.Form:
		if s.forms > 0 {
			s.forms--
		}
	case atom.P:
		s.pOpen = false
	}
	if !s.inSlot {
		return nil
	}
	for j := len(s.stack) - 1; j >= -1; j-- {
		e := s.slotEl
		if j >= 0 {
			e = s.stack[j]
		}
		if !s.same(e, a) {
			continue
		}
		if j < len(s.stack)-1 || (j == -1 && len(s.stack) > 0) {
			if isFormatting(a) {
				return ErrMisnested
			}
			for _, above := range s.stack[j+1:] {
				if !hasOptionalEnd(above.a) {
					return ErrMisnested
				}
			}
		}
		if j >= 0 {
			s.stack = s.stack[:j]
			return nil
		}
		s.cur.ContentEnd, s.cur.ElementEnd = s.lx.start, s.lx.end
		s.finishSlot()
		if isCell(s.slotEl.a) && len(s.tables) > 0 {
			s.tables[len(s.tables)-1].state = tsRow
		}
		return nil
	}
	switch {
	case a == atom.Br:
		// </br> is a <br> (§13.2.6.4.7).
		return nil
	case a == atom.P && !s.pAtSlot:
		// </p> without an open p inserts an empty p element.
		return nil
	}
	// A stray end tag may close an ancestor of the slot, and the slot with it.
	return ErrMisnested
}

// finishSlot fixes the replaced range from the mode and records the slot.
func (s *scanner) finishSlot() {
	c := &s.cur
	switch c.Mode {
	case ModeOuter:
		c.Start, c.End = c.ElementStart, c.ElementEnd
	case ModeBefore:
		c.Start, c.End = c.ElementStart, c.ElementStart
	case ModeAfter:
		c.Start, c.End = c.ElementEnd, c.ElementEnd
	case ModePrepend:
		c.Start, c.End = c.ContentStart, c.ContentStart
	case ModeAppend:
		c.Start, c.End = c.ContentEnd, c.ContentEnd
	default:
		c.Start, c.End = c.ContentStart, c.ContentEnd
	}
	s.slots = append(s.slots, *c)
	s.inSlot = false
	s.stack = s.stack[:0]
}

// eqFoldBytes compares two names ignoring ASCII case.
func eqFoldBytes(x, y []byte) bool {
	if len(x) != len(y) {
		return false
	}
	for i := range x {
		c, d := x[i], y[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if 'A' <= d && d <= 'Z' {
			d += 'a' - 'A'
		}
		if c != d {
			return false
		}
	}
	return true
}
