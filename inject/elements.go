package inject

import "golang.org/x/net/html/atom"

// Element categories of the HTML standard that decide how the tree builder
// treats a tag. Only what the scanner needs to stay sound is modelled; the
// rest makes the scanner refuse the page (see scan.go).

// lookupAtom returns the atom of a tag name as written in the page, or 0 for
// names HTML does not know (custom elements).
func lookupAtom(name []byte) atom.Atom {
	var buf [24]byte
	if len(name) > len(buf) {
		return 0
	}
	for i, c := range name {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[i] = c
	}
	return atom.Lookup(buf[:len(name)])
}

// quickAtom is lookupAtom for the scan outside slots, which only reacts to
// a few tags (raw text elements, svg, math, template, select, form, frameset,
// p): names that cannot be one of them cost a length and a byte test.
func quickAtom(name []byte) atom.Atom {
	if len(name) == 0 || len(name) > 9 {
		return 0
	}
	c := name[0] | 0x20
	var hit bool
	switch len(name) {
	case 1:
		hit = c == 'p'
	case 3:
		hit = c == 's' || c == 'x'
	case 4:
		hit = c == 'm' || c == 'f'
	case 5:
		hit = c == 's' || c == 't'
	case 6:
		hit = c == 's' || c == 'i'
	case 7:
		hit = c == 'n'
	case 8:
		hit = c == 't' || c == 'f' || c == 'n'
	case 9:
		hit = c == 'p'
	}
	if !hit {
		return 0
	}
	return lookupAtom(name)
}

// isVoid reports elements without content or end tag (§13.1.2).
func isVoid(a atom.Atom) bool {
	switch a {
	case atom.Area, atom.Base, atom.Br, atom.Col, atom.Embed, atom.Hr, atom.Img,
		atom.Input, atom.Keygen, atom.Link, atom.Meta, atom.Param, atom.Source,
		atom.Track, atom.Wbr, atom.Image:
		return true
	}
	return false
}

// rawKindOf returns the tokenizer state an HTML element switches to
// (§13.2.6.4.4 and .7, with scripting enabled as in browsers).
func rawKindOf(a atom.Atom) (rawKind, string) {
	switch a {
	case atom.Script:
		return rawScript, "script"
	case atom.Style:
		return rawText, "style"
	case atom.Textarea:
		return rawText, "textarea"
	case atom.Title:
		return rawText, "title"
	case atom.Xmp:
		return rawText, "xmp"
	case atom.Iframe:
		return rawText, "iframe"
	case atom.Noembed:
		return rawText, "noembed"
	case atom.Noframes:
		return rawText, "noframes"
	case atom.Noscript:
		return rawText, "noscript"
	case atom.Plaintext:
		return rawPlaintext, "plaintext"
	}
	return rawNone, ""
}

// closesP reports start tags that close an open p element in button scope
// (§13.2.6.4.7).
func closesP(a atom.Atom) bool {
	switch a {
	case atom.Address, atom.Article, atom.Aside, atom.Blockquote, atom.Center,
		atom.Details, atom.Dialog, atom.Dir, atom.Div, atom.Dl, atom.Fieldset,
		atom.Figcaption, atom.Figure, atom.Footer, atom.Form, atom.H1, atom.H2,
		atom.H3, atom.H4, atom.H5, atom.H6, atom.Header, atom.Hgroup, atom.Hr,
		atom.Main, atom.Menu, atom.Nav, atom.Ol, atom.P, atom.Pre, atom.Listing,
		atom.Search, atom.Section, atom.Summary, atom.Table, atom.Ul, atom.Xmp,
		atom.Plaintext, atom.Li, atom.Dd, atom.Dt:
		return true
	}
	return false
}

// isScopeBoundary reports the elements that end "has an element in button
// scope" walks (§13.2.4.2), the only scope the scanner checks.
func isScopeBoundary(a atom.Atom) bool {
	switch a {
	case atom.Applet, atom.Caption, atom.Html, atom.Table, atom.Td, atom.Th,
		atom.Marquee, atom.Object, atom.Template, atom.Button, atom.Svg, atom.Math:
		return true
	}
	return false
}

// hasOptionalEnd reports elements whose end tag the tree builder may imply
// (§13.1.2.4); an end tag of an ancestor may close them silently.
func hasOptionalEnd(a atom.Atom) bool {
	switch a {
	case atom.P, atom.Li, atom.Dd, atom.Dt, atom.Option, atom.Optgroup, atom.Rb,
		atom.Rp, atom.Rt, atom.Rtc, atom.Tbody, atom.Thead, atom.Tfoot, atom.Tr,
		atom.Td, atom.Th, atom.Caption, atom.Colgroup:
		return true
	}
	return false
}

// isFormatting reports the formatting elements whose misnested end tags run
// the adoption agency algorithm (§13.2.4.3).
func isFormatting(a atom.Atom) bool {
	switch a {
	case atom.A, atom.B, atom.Big, atom.Code, atom.Em, atom.Font, atom.I,
		atom.Nobr, atom.S, atom.Small, atom.Strike, atom.Strong, atom.Tt, atom.U:
		return true
	}
	return false
}

// isTablePart reports elements that only table insertion modes place.
func isTablePart(a atom.Atom) bool {
	switch a {
	case atom.Caption, atom.Col, atom.Colgroup, atom.Tbody, atom.Thead,
		atom.Tfoot, atom.Tr, atom.Td, atom.Th:
		return true
	}
	return false
}

// isTableContext reports elements whose children the "in table" modes place,
// with foster parenting for anything unexpected.
func isTableContext(a atom.Atom) bool {
	switch a {
	case atom.Table, atom.Tbody, atom.Thead, atom.Tfoot, atom.Tr, atom.Colgroup:
		return true
	}
	return false
}

// tablePartParent returns the element a table part must be a child of so
// that the tree builder keeps it where the bytes put it.
func tablePartParent(a, parent atom.Atom) bool {
	switch a {
	case atom.Caption, atom.Colgroup, atom.Tbody, atom.Thead, atom.Tfoot:
		return parent == atom.Table
	case atom.Col:
		return parent == atom.Colgroup
	case atom.Tr:
		return parent == atom.Tbody || parent == atom.Thead || parent == atom.Tfoot
	case atom.Td, atom.Th:
		return parent == atom.Tr
	}
	return false
}

// isBreakout reports HTML start tags that end foreign content (§13.2.6.5).
// <font> only breaks out with color, face or size; the caller checks those.
func isBreakout(a atom.Atom) bool {
	switch a {
	case atom.B, atom.Big, atom.Blockquote, atom.Body, atom.Br, atom.Center,
		atom.Code, atom.Dd, atom.Div, atom.Dl, atom.Dt, atom.Em, atom.Embed,
		atom.H1, atom.H2, atom.H3, atom.H4, atom.H5, atom.H6, atom.Head, atom.Hr,
		atom.I, atom.Img, atom.Li, atom.Listing, atom.Menu, atom.Meta, atom.Nobr,
		atom.Ol, atom.P, atom.Pre, atom.Ruby, atom.S, atom.Small, atom.Span,
		atom.Strong, atom.Strike, atom.Sub, atom.Sup, atom.Table, atom.Tt,
		atom.U, atom.Ul, atom.Var:
		return true
	}
	return false
}

// isIntegrationPoint reports foreign elements whose content is parsed as
// HTML again (§13.2.6.5): SVG foreignObject, desc, title and the MathML text
// integration points. annotation-xml depends on an attribute; the scanner
// treats it as one too, which only makes it more cautious.
func isIntegrationPoint(name []byte) bool {
	switch {
	case equalFoldASCII(name, "foreignobject"), equalFoldASCII(name, "desc"),
		equalFoldASCII(name, "title"), equalFoldASCII(name, "mi"),
		equalFoldASCII(name, "mo"), equalFoldASCII(name, "mn"),
		equalFoldASCII(name, "ms"), equalFoldASCII(name, "mtext"),
		equalFoldASCII(name, "annotation-xml"):
		return true
	}
	return false
}
