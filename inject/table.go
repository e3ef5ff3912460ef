package inject

import "golang.org/x/net/html/atom"

// Table cells as slots. A <td> or <th> is a slot only where the scan can
// prove the tree builder puts it in a row of a table: table >
// (tbody|thead|tfoot)? > tr > td|th, every tag between the table's start
// and the cell one of those (or script, style, template, comments, text),
// end tags where the standard says. Anything else inside a table — an
// element the tree builder would foster-parent, a caption or colgroup, a
// table part in the wrong place, a select, an integration point of SVG or
// MathML — makes the scanner lose track: no cell of the page is a slot
// after that (tablesLost), and other slots are unaffected.
//
// The state is a function of the sequence of tag names alone, so the
// changed-page path (which compares token shapes) stays sound.

// Where a table's insertion mode is, per open table.
const (
	tsTable   uint8 = iota // in table
	tsSection              // in table body (explicit or implied tbody)
	tsRow                  // in row
	tsCell                 // in cell: body content until the cell ends
)

type tableFrame struct {
	state   uint8
	section atom.Atom // the open tbody, thead or tfoot
	cell    atom.Atom // the open td or th
}

func isCell(a atom.Atom) bool { return a == atom.Td || a == atom.Th }

func isSection(a atom.Atom) bool { return a == atom.Tbody || a == atom.Thead || a == atom.Tfoot }

// tracksTables reports whether start or end tag a must go through the table
// tracker; a is the atom quickAtom found, 0 for most names.
func (s *scanner) tracksTables(a atom.Atom) bool {
	return !s.tablesLost && !s.inSlot && s.template == 0 && (len(s.tables) > 0 || a == atom.Table)
}

// loseTables gives up on tables for the rest of the page.
func (s *scanner) loseTables() {
	s.tablesLost = true
	s.tables = s.tables[:0]
}

// tableStart follows start tag a; isSlot says it is marked or selected. It
// reports whether a is a cell the tree builder places in a table row.
func (s *scanner) tableStart(a atom.Atom, isSlot bool) bool {
	if len(s.tables) == 0 {
		// a is a table, outside any tracked table.
		switch {
		case s.selects > 0 || s.frameset:
			s.loseTables()
		case isSlot:
			// A slot's content is the scan's own business: it ends, with
			// everything in it, at the slot's end tag.
		default:
			s.tables = append(s.tables, tableFrame{state: tsTable})
		}
		return false
	}
	f := &s.tables[len(s.tables)-1]
	if f.state == tsCell {
		switch {
		case a == atom.Table:
			if s.selects > 0 || len(s.tables) >= maxDepth {
				s.loseTables()
			} else if !isSlot {
				s.tables = append(s.tables, tableFrame{state: tsTable})
			}
		case s.selects > 0 && isTablePart(a):
			s.loseTables()
		case isCell(a):
			// Closes the open cell; a new one in the same row.
			f.cell = a
			return true
		case a == atom.Tr:
			f.state = tsRow
		case isSection(a):
			f.state, f.section = tsSection, a
		case isTablePart(a):
			// caption, col, colgroup: close the row, left unmodelled.
			s.loseTables()
		}
		return false
	}
	// In table, table body or row: only table structure keeps the track.
	if isSlot && !isCell(a) {
		s.loseTables()
		return false
	}
	switch {
	case a == atom.Script || a == atom.Style || a == atom.Template:
	case isSection(a):
		f.state, f.section = tsSection, a
	case a == atom.Tr:
		if f.state == tsTable {
			f.section = atom.Tbody // implied
		}
		f.state = tsRow
	case isCell(a) && f.state == tsRow:
		f.state, f.cell = tsCell, a
		return true
	default:
		s.loseTables()
	}
	return false
}

// tableEnd follows end tag a outside slots.
func (s *scanner) tableEnd(a atom.Atom) {
	if len(s.tables) == 0 {
		return // </table> outside any table is ignored
	}
	if s.selects > 0 && (a == atom.Table || isTablePart(a)) {
		// "In select in table" closes the select first, which the scan's
		// count of open selects does not follow.
		s.loseTables()
		return
	}
	f := &s.tables[len(s.tables)-1]
	switch {
	case a == atom.Table:
		// In every mode, </table> closes the open cell, row, section
		// and the table.
		s.tables = s.tables[:len(s.tables)-1]
	case f.state == tsCell && a == f.cell:
		f.state = tsRow
	case a == atom.Tr && (f.state == tsCell || f.state == tsRow):
		f.state = tsSection
	case isSection(a) && a == f.section && f.state != tsTable:
		f.state = tsTable
	}
	// Other end tags are ignored by the table modes, or, in a cell, close
	// nothing beyond it (td and th bound the scopes they search); a
	// mismatched section or cell end tag is ignored.
}
