package inject

import (
	"golang.org/x/net/html/atom"
)

// checkStart fails when start tag a, inside a slot, would make the tree
// builder close an element implicitly or move content out of the slot.
func (s *scanner) checkStart(a atom.Atom) error {
	switch a {
	case atom.Html, atom.Head, atom.Body, atom.Frameset, atom.Frame:
		return ErrMisnested
	}
	cur := s.slotEl
	if len(s.stack) > 0 {
		cur = s.stack[len(s.stack)-1]
	}
	if isTablePart(a) {
		ok := tablePartParent(a, cur.a) ||
			(a == atom.Tr || a == atom.Col || a == atom.Tbody) && cur.a == atom.Table
		if !ok {
			return ErrMisnested
		}
	} else if isTableContext(cur.a) && a != atom.Script && a != atom.Style && a != atom.Template {
		// Foster parenting would move the element before the table.
		return ErrMisnested
	}
	shielded := false
	for j := len(s.stack) - 1; j >= -1; j-- {
		e := s.slotEl
		if j >= 0 {
			e = s.stack[j]
		}
		if closes(a, e.a, j == len(s.stack)-1) {
			if j < 0 || !hasOptionalEnd(e.a) && !isHeading(e.a) {
				// The slot element itself, or an element the adoption
				// agency algorithm would take apart.
				return ErrMisnested
			}
			// An implied end tag inside the slot: the element and those
			// above it end here, as the tree builder ends them.
			s.stack = s.stack[:j]
			break
		}
		if isScopeBoundary(e.a) || (a == atom.Li && (e.a == atom.Ul || e.a == atom.Ol || e.a == atom.Menu)) ||
			((a == atom.Dd || a == atom.Dt) && e.a == atom.Dl) {
			shielded = true
			break
		}
	}
	if closesP(a) && s.pAtSlot && !shielded {
		// An open <p> outside the slot would be closed, and the slot with it.
		return ErrMisnested
	}
	return nil
}

// closes reports whether start tag a implicitly closes an open element e;
// isCurrent says e is the innermost open element.
func closes(a, e atom.Atom, isCurrent bool) bool {
	switch {
	case e == atom.P:
		return closesP(a)
	case e == atom.Li:
		return a == atom.Li
	case e == atom.Dd || e == atom.Dt:
		return a == atom.Dd || a == atom.Dt
	case e == atom.Option:
		return isCurrent && (a == atom.Option || a == atom.Optgroup)
	case e == atom.Optgroup:
		return a == atom.Optgroup
	case e == atom.A || e == atom.Nobr || e == atom.Form || e == atom.Button:
		return a == e
	case isHeading(e):
		return isCurrent && isHeading(a)
	case isRubyPart(e):
		return isRubyPart(a)
	}
	return false
}

func isHeading(a atom.Atom) bool {
	return a == atom.H1 || a == atom.H2 || a == atom.H3 || a == atom.H4 || a == atom.H5 || a == atom.H6
}

func isRubyPart(a atom.Atom) bool {
	return a == atom.Rb || a == atom.Rp || a == atom.Rt || a == atom.Rtc
}
