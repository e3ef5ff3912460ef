package inject

import "bytes"

// tokKind classifies the tokens of the HTML tokenizer (HTML Living Standard
// §13.2.5). The lexer keeps byte offsets only; it never copies.
type tokKind uint8

const (
	tokEOF tokKind = iota
	tokText
	tokStartTag
	tokEndTag
	tokComment // comments and bogus comments (<?...>, <!...>, </ 1>)
	tokDoctype
	tokCDATA   // <![CDATA[...]]> in foreign content
	tokRawText // content of script, style, textarea, title, xmp, ... elements
	tokDropped // bytes the tokenizer consumes without a token: </>, a tag cut by EOF
)

// rawKind is the tokenizer state the tree builder switches to after a start
// tag; the content runs to the matching end tag (or EOF).
type rawKind uint8

const (
	rawNone      rawKind = iota
	rawText              // RAWTEXT and RCDATA: ends at the appropriate end tag
	rawScript            // script data, with its escaped states
	rawPlaintext         // PLAINTEXT: never ends
)

// attr holds the offsets of one attribute; valStart < 0 means no value.
type attr struct {
	nameStart, nameEnd int
	valStart, valEnd   int
}

// lexer is a tokenizer over one complete body. It follows the standard's
// states where they decide token boundaries and skips the work that only
// matters for building values (character references, NUL replacement).
type lexer struct {
	buf []byte
	pos int

	raw      rawKind
	rawName  string // lower-case tag name ending raw text
	cdata    bool   // <![CDATA[ is a CDATA section (foreign content)
	skipText bool   // do not stop at text tokens; the scan ignores them
	// rawRCDATA says the current raw text token decodes character
	// references (title, textarea).
	rawRCDATA bool

	// The current token.
	kind               tokKind
	start, end         int
	nameStart, nameEnd int
	selfClosing        bool
	attrs              []attr
}

func (z *lexer) reset(buf []byte, pos int) {
	z.buf = buf
	z.pos = pos
	z.raw = rawNone
	z.rawName = ""
	z.cdata = false
	z.attrs = z.attrs[:0]
}

// setRaw switches the tokenizer state for the content after the current start
// tag, as the tree builder does on inserting such an element.
func (z *lexer) setRaw(k rawKind, name string) {
	z.raw = k
	z.rawName = name
}

// next advances to the next token and returns its kind.
func (z *lexer) next() tokKind {
	z.attrs = z.attrs[:0]
	z.selfClosing = false
	z.nameStart, z.nameEnd = 0, 0
	z.start = z.pos
	b := z.buf
	if z.pos >= len(b) {
		z.kind, z.end = tokEOF, z.pos
		z.raw = rawNone
		return tokEOF
	}
	if z.raw != rawNone {
		var end int
		switch z.raw {
		case rawScript:
			end = scriptEnd(b, z.pos)
		case rawText:
			end = rawEnd(b, z.pos, z.rawName)
		default:
			end = len(b)
		}
		z.rawRCDATA = z.rawName == "title" || z.rawName == "textarea"
		z.raw = rawNone
		if end > z.pos {
			return z.emit(tokRawText, end)
		}
	}
	p := z.pos
	for {
		i := bytes.IndexByte(b[p:], '<')
		if i < 0 {
			if z.skipText {
				z.start = len(b)
				return z.emit(tokEOF, len(b))
			}
			return z.emit(tokText, len(b))
		}
		p += i
		if !z.markupAt(p) {
			p++
			continue
		}
		if p > z.pos && !z.skipText {
			return z.emit(tokText, p)
		}
		z.start = p
		return z.lexMarkup(p)
	}
}

func (z *lexer) emit(k tokKind, end int) tokKind {
	z.kind, z.end, z.pos = k, end, end
	return k
}

// markupAt reports whether the '<' at p starts a token rather than text.
func (z *lexer) markupAt(p int) bool {
	b := z.buf
	if p+1 >= len(b) {
		return false
	}
	c := b[p+1]
	switch {
	case isAlpha(c), c == '!', c == '?':
		return true
	case c == '/':
		// "</" at EOF is text; anything else after it is a tag, a bogus
		// comment or the dropped "</>".
		return p+2 < len(b)
	}
	return false
}

// lexMarkup reads the token starting with the '<' at p.
func (z *lexer) lexMarkup(p int) tokKind {
	b := z.buf
	c := b[p+1]
	switch {
	case isAlpha(c):
		return z.lexTag(p, p+1, tokStartTag)
	case c == '/':
		d := b[p+2]
		if isAlpha(d) {
			return z.lexTag(p, p+2, tokEndTag)
		}
		if d == '>' {
			return z.emit(tokDropped, p+3)
		}
		return z.emit(tokComment, bogusEnd(b, p+2))
	case c == '?':
		return z.emit(tokComment, bogusEnd(b, p+1))
	}
	// c == '!'
	s := p + 2
	switch {
	case hasPrefix(b[s:], "--"):
		return z.emit(tokComment, commentEnd(b, s+2))
	case len(b)-s >= 7 && equalFoldASCII(b[s:s+7], "doctype"):
		return z.emit(tokDoctype, bogusEnd(b, s))
	case z.cdata && hasPrefix(b[s:], "[CDATA["):
		i := bytes.Index(b[s+7:], []byte("]]>"))
		if i < 0 {
			return z.emit(tokCDATA, len(b))
		}
		return z.emit(tokCDATA, s+7+i+3)
	}
	return z.emit(tokComment, bogusEnd(b, s))
}

// lexTag reads a start or end tag whose name starts at ns. A tag cut off by
// EOF produces no token (§13.2.5.8 "eof-in-tag").
func (z *lexer) lexTag(p, ns int, k tokKind) tokKind {
	b := z.buf
	n := len(b)
	i := ns
	for i < n && byteClass[b[i]]&clNameEnd == 0 {
		i++
	}
	z.nameStart, z.nameEnd = ns, i
	for {
		for i < n && isSpace(b[i]) {
			i++
		}
		if i >= n {
			return z.emit(tokDropped, n)
		}
		switch b[i] {
		case '>':
			return z.emit(k, i+1)
		case '/':
			i++
			if i < n && b[i] == '>' {
				z.selfClosing = true
				return z.emit(k, i+1)
			}
			continue
		}
		// Attribute name; a leading '=' belongs to the name (§13.2.5.32).
		as := i
		i++
		for i < n && byteClass[b[i]]&clAttrEnd == 0 {
			i++
		}
		a := attr{nameStart: as, nameEnd: i, valStart: -1, valEnd: -1}
		for i < n && isSpace(b[i]) {
			i++
		}
		if i >= n {
			return z.emit(tokDropped, n)
		}
		if b[i] != '=' {
			z.attrs = append(z.attrs, a)
			continue
		}
		i++
		for i < n && isSpace(b[i]) {
			i++
		}
		if i >= n {
			return z.emit(tokDropped, n)
		}
		switch q := b[i]; q {
		case '"', '\'':
			j := bytes.IndexByte(b[i+1:], q)
			if j < 0 {
				return z.emit(tokDropped, n)
			}
			a.valStart, a.valEnd = i+1, i+1+j
			i = a.valEnd + 1
		case '>':
			// Missing value: the tag ends here (§13.2.5.36).
			a.valStart, a.valEnd = i, i
			z.attrs = append(z.attrs, a)
			return z.emit(k, i+1)
		default:
			a.valStart = i
			for i < n && byteClass[b[i]]&clValEnd == 0 {
				i++
			}
			a.valEnd = i
		}
		z.attrs = append(z.attrs, a)
	}
}

// name returns the current tag's name as written (not lower-cased).
func (z *lexer) name() []byte { return z.buf[z.nameStart:z.nameEnd] }

// attrValue returns the value of the first attribute named key (lower-case),
// as the standard drops later duplicates. ok is false when absent.
func (z *lexer) attrValue(key string) (v []byte, ok bool) {
	for _, a := range z.attrs {
		if a.nameEnd-a.nameStart == len(key) && equalFoldASCII(z.buf[a.nameStart:a.nameEnd], key) {
			if a.valStart < 0 {
				return nil, true
			}
			return z.buf[a.valStart:a.valEnd], true
		}
	}
	return nil, false
}

// commentEnd returns the end of a comment whose body starts at s, just after
// "<!--" (§13.2.5.43–52): "<!-->" and "<!--->" end at once; otherwise the
// first "-->" or "--!>" (any number of dashes before the '>') ends it.
func commentEnd(b []byte, s int) int {
	n := len(b)
	if s < n && b[s] == '>' {
		return s + 1
	}
	if s+1 < n && b[s] == '-' && b[s+1] == '>' {
		return s + 2
	}
	p := s
	for {
		i := bytes.Index(b[p:], []byte("--"))
		if i < 0 {
			return n
		}
		j := p + i + 2
		for j < n && b[j] == '-' {
			j++
		}
		if j < n && b[j] == '>' {
			return j + 1
		}
		if j+1 < n && b[j] == '!' && b[j+1] == '>' {
			return j + 2
		}
		p = j
		if j >= n {
			return n
		}
	}
}

// bogusEnd returns the end of a bogus comment or doctype: the first '>'.
func bogusEnd(b []byte, s int) int {
	i := bytes.IndexByte(b[s:], '>')
	if i < 0 {
		return len(b)
	}
	return s + i + 1
}

// rawEnd returns where RAWTEXT or RCDATA content starting at p ends: at the
// first "</name" followed by whitespace, '/' or '>' (an "appropriate end tag").
func rawEnd(b []byte, p int, name string) int {
	for {
		i := bytes.Index(b[p:], []byte("</"))
		if i < 0 {
			return len(b)
		}
		p += i
		if isEndTagOf(b, p, name) {
			return p
		}
		p += 2
	}
}

// scriptEnd returns where script data starting at p ends, following the
// escaped and double-escaped states of §13.2.5.15–31: inside "<!--", a
// "<script" makes the next "</script" part of the text.
func scriptEnd(b []byte, p int) int {
	const (
		normal = iota
		escaped
		double
	)
	st := normal
	for p < len(b) {
		var i int
		if st == normal {
			i = bytes.IndexByte(b[p:], '<')
		} else {
			i = bytes.IndexAny(b[p:], "<-")
		}
		if i < 0 {
			return len(b)
		}
		p += i
		if b[p] == '-' {
			if hasPrefix(b[p:], "-->") {
				st = normal
				p += 3
			} else {
				p++
			}
			continue
		}
		switch st {
		case normal:
			if hasPrefix(b[p:], "<!--") {
				// The dashes of "<!--" count towards a "-->" (§13.2.5.22).
				st = escaped
				p += 2
				continue
			}
			if isEndTagOf(b, p, "script") {
				return p
			}
		case escaped:
			if isEndTagOf(b, p, "script") {
				return p
			}
			if isTagOf(b, p+1, "script") {
				st = double
				p += 7
				continue
			}
		case double:
			if p+1 < len(b) && b[p+1] == '/' && isTagOf(b, p+2, "script") {
				st = escaped
				p += 8
				continue
			}
		}
		p++
	}
	return len(b)
}

// isEndTagOf reports whether b[p:] starts with "</name" and a delimiter.
func isEndTagOf(b []byte, p int, name string) bool {
	return p+1 < len(b) && b[p] == '<' && b[p+1] == '/' && isTagOf(b, p+2, name)
}

// isTagOf reports whether b[p:] is name (any case) followed by whitespace,
// '/' or '>'.
func isTagOf(b []byte, p int, name string) bool {
	e := p + len(name)
	return e < len(b) && equalFoldASCII(b[p:e], name) && isTagNameEnd(b[e])
}

// Byte classes of the tokenizer, looked up in one table on the hot loops.
const (
	clSpace   = 1 << iota // tab, LF, FF, CR, space
	clNameEnd             // ends a tag name: space, '/', '>'
	clAttrEnd             // ends an attribute name: space, '/', '>', '='
	clValEnd              // ends an unquoted value: space, '>'
	clAlpha
)

var byteClass = func() (t [256]uint8) {
	for _, c := range []byte(" \n\t\r\f") {
		t[c] |= clSpace | clNameEnd | clAttrEnd | clValEnd
	}
	t['/'] |= clNameEnd | clAttrEnd
	t['>'] |= clNameEnd | clAttrEnd | clValEnd
	t['='] |= clAttrEnd
	for c := 'a'; c <= 'z'; c++ {
		t[c] |= clAlpha
		t[c-'a'+'A'] |= clAlpha
	}
	return t
}()

func isAlpha(c byte) bool { return byteClass[c]&clAlpha != 0 }

// isSpace is the tokenizer's whitespace: tab, LF, FF, CR, space.
func isSpace(c byte) bool { return byteClass[c]&clSpace != 0 }

func isTagNameEnd(c byte) bool { return byteClass[c]&clNameEnd != 0 }

func hasPrefix(b []byte, s string) bool {
	return len(b) >= len(s) && string(b[:len(s)]) == s
}

// equalFoldASCII compares b with the lower-case ASCII string s, ignoring
// ASCII case only, as HTML does for tag and attribute names.
func equalFoldASCII(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}
