package inject

import (
	"bytes"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/andybalholm/cascadia"
	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// indexAttr is the attribute written into the private copy of a page to map
// parsed elements back to start tags of the original bytes.
const indexAttr = "data-mq-i"

// matchSelectors finds the start tags of elements matched by the selector
// rules. goquery and cascadia know elements, not offsets, so the scan lists
// every HTML start tag and writes a private copy of the page in which each
// carries an index attribute, the copy is parsed and matched, and the indexes
// are read back.
//
// The copy keeps what the tree builder and the selectors read and shrinks the
// rest, which makes the parse several times cheaper: tags keep their names,
// self-closing flags and the attributes that matter (see keepAttr); a text
// run keeps its leading whitespace and becomes "x" after it (whitespace and
// non-whitespace take different paths in tables and before <body>);
// comments are emptied; script and style bodies become "x". With :contains
// or :matches selectors, text is copied as is.
func (c *Compiler) matchSelectors(s *scanner, body []byte) ([]forcedSlot, error) {
	s.collect = true
	pc := &privateCopy{buf: make([]byte, 0, len(body)/2), c: c, verbatim: c.verbatimCopy}
	s.copy = pc
	err := s.run(body)
	s.copy = nil
	if err != nil {
		return nil, err
	}
	tags := s.tags
	cp := pc.buf
	doc, err := html.Parse(bytes.NewReader(cp))
	if err != nil {
		return nil, err
	}
	if time.Now().After(s.deadline) {
		return nil, ErrBudget
	}
	var forced []forcedSlot
	root := goquery.NewDocumentFromNode(doc)
	for r, sel := range c.sels {
		for _, n := range root.FindMatcher(sel).Nodes {
			if n.Namespace != "" || inTemplate(n) {
				continue
			}
			k, ok := tagIndex(n)
			if !ok || k >= len(tags) {
				continue // an element the tree builder implied
			}
			forced = append(forced, forcedSlot{off: tags[k].start, rule: r})
		}
	}
	if time.Now().After(s.deadline) {
		return nil, ErrBudget
	}
	slices.SortFunc(forced, func(x, y forcedSlot) int {
		if x.off != y.off {
			return x.off - y.off
		}
		return x.rule - y.rule
	})
	return slices.CompactFunc(forced, func(x, y forcedSlot) bool { return x.off == y.off }), nil
}

// privateCopy is the page rewritten for the selector parse.
type privateCopy struct {
	buf []byte
	c   *Compiler
	// verbatim keeps every byte and only inserts the index attributes; the
	// tests use it as the reference the shrunken copy must agree with.
	verbatim bool
}

// writeCopy appends the current token's form in the private copy; indexed
// says the token is HTML start tag number k.
func (s *scanner) writeCopy(indexed bool, k int) {
	z := &s.lx
	pc := s.copy
	b := pc.buf
	tok := z.buf[z.start:z.end]
	if pc.verbatim {
		if indexed {
			b = append(b, z.buf[z.start:z.nameEnd]...)
			b = append(b, ` `+indexAttr+`="`...)
			b = strconv.AppendInt(b, int64(k), 10)
			b = append(b, '"')
			tok = z.buf[z.nameEnd:z.end]
		}
		pc.buf = append(b, tok...)
		return
	}
	switch z.kind {
	case tokText:
		b = pc.appendText(b, tok, true)
	case tokRawText:
		// RCDATA (title, textarea) decodes character references.
		b = pc.appendText(b, tok, z.rawRCDATA)
	case tokComment:
		b = append(b, "<!---->"...)
	case tokStartTag:
		b = append(b, '<')
		b = append(b, z.name()...)
		if indexed {
			b = append(b, ` `+indexAttr+`="`...)
			b = strconv.AppendInt(b, int64(k), 10)
			b = append(b, '"')
		}
		for _, a := range z.attrs {
			name := z.buf[a.nameStart:a.nameEnd]
			if !pc.c.keepAttr(z.name(), name) {
				continue
			}
			b = append(b, ' ')
			b = append(b, name...)
			if a.valStart >= 0 {
				b = append(b, `="`...)
				for _, c := range z.buf[a.valStart:a.valEnd] {
					if c == '"' {
						b = append(b, "&quot;"...)
					} else {
						b = append(b, c)
					}
				}
				b = append(b, '"')
			}
		}
		if z.selfClosing {
			b = append(b, '/')
		}
		b = append(b, '>')
	case tokEndTag:
		b = append(b, '<', '/')
		b = append(b, z.name()...)
		b = append(b, '>')
	default:
		b = append(b, tok...)
	}
	pc.buf = b
}

// appendText appends a text run: as is when selectors read text or when it
// has character references (refs says they are decoded here) or NUL, which
// the tree builder may turn into whitespace or drop; otherwise its leading
// whitespace and an "x" if anything follows.
func (pc *privateCopy) appendText(b, t []byte, refs bool) []byte {
	if pc.c.textSensitive || refs && bytes.IndexByte(t, '&') >= 0 || bytes.IndexByte(t, 0) >= 0 {
		return append(b, t...)
	}
	i := 0
	for i < len(t) && isSpace(t[i]) {
		i++
	}
	b = append(b, t[:i]...)
	if i < len(t) {
		b = append(b, 'x')
	}
	return b
}

// keepAttr reports whether the private copy keeps an attribute of element
// tag: those the selectors read, and those the tree builder reads (input
// type, font color/face/size, annotation-xml encoding).
func (c *Compiler) keepAttr(tag, name []byte) bool {
	switch len(name) {
	case 2:
		if c.selIDs && equalFoldASCII(name, "id") {
			return true
		}
	case 4:
		if equalFoldASCII(name, "type") && equalFoldASCII(tag, "input") {
			return true
		}
		if (equalFoldASCII(name, "face") || equalFoldASCII(name, "size")) && equalFoldASCII(tag, "font") {
			return true
		}
	case 5:
		if c.selClasses && equalFoldASCII(name, "class") {
			return true
		}
		if equalFoldASCII(name, "color") && equalFoldASCII(tag, "font") {
			return true
		}
	case 8:
		if equalFoldASCII(name, "encoding") && equalFoldASCII(tag, "annotation-xml") {
			return true
		}
	}
	return c.selectorReads(name)
}

func tagIndex(n *html.Node) (int, bool) {
	for _, a := range n.Attr {
		if a.Key == indexAttr && a.Namespace == "" {
			k, err := strconv.Atoi(a.Val)
			return k, err == nil && k >= 0
		}
	}
	return 0, false
}

func inTemplate(n *html.Node) bool {
	for p := n.Parent; p != nil; p = p.Parent {
		if p.Type == html.ElementNode && p.DataAtom == atom.Template && p.Namespace == "" {
			return true
		}
	}
	return false
}

// rawTextTags are the elements whose content the tokenizer reads as raw
// text (rawKindOf): never slot hosts.
var rawTextTags = []string{"script", "style", "textarea", "title", "xmp", "iframe", "noscript", "noembed", "noframes", "plaintext"}

// selectsRawText reports a selector that names a raw text element as its
// subject, returning the element's name: one whose last compound selector
// has that type (`div > SCRIPT.x`), or that matches a bare such element in
// the head or the body, with some content (`script`, `body > *:not(div)`). Selectors that match
// one only through attributes or position (`#hero`) pass; the scan refuses
// the page when they do (ErrRawTextSlot).
func selectsRawText(sel cascadia.Selector, src string) (string, bool) {
	for _, subject := range subjectTypes(src) {
		for _, t := range rawTextTags {
			if strings.EqualFold(subject, t) {
				return t, true
			}
		}
	}
	for _, t := range rawTextTags {
		for _, parent := range []atom.Atom{atom.Head, atom.Body} {
			root := &html.Node{Type: html.DocumentNode}
			h := &html.Node{Type: html.ElementNode, Data: "html", DataAtom: atom.Html}
			p := &html.Node{Type: html.ElementNode, Data: parent.String(), DataAtom: parent}
			n := &html.Node{Type: html.ElementNode, Data: t, DataAtom: atom.Lookup([]byte(t))}
			root.AppendChild(h)
			h.AppendChild(p)
			p.AppendChild(n)
			n.AppendChild(&html.Node{Type: html.TextNode, Data: "x"})
			if sel.Match(n) {
				return t, true
			}
		}
	}
	return "", false
}

// subjectTypes returns the type selector of the last compound selector of
// each selector in a group ("" where it has none), reading the source
// outside strings, brackets and parentheses.
func subjectTypes(src string) []string {
	var out []string
	depth, start := 0, 0
	var quote byte
	last := func(seg string) string {
		seg = strings.TrimSpace(seg)
		// The last compound starts after the last top-level combinator.
		d, from := 0, 0
		var q byte
		for i := 0; i < len(seg); i++ {
			c := seg[i]
			switch {
			case q != 0:
				if c == '\\' {
					i++
				} else if c == q {
					q = 0
				}
			case c == '"' || c == '\'':
				q = c
			case c == '(' || c == '[':
				d++
			case c == ')' || c == ']':
				d--
			case d == 0 && (c == ' ' || c == '\t' || c == '\n' || c == '>' || c == '+' || c == '~'):
				from = i + 1
			}
		}
		seg = seg[from:]
		end := 0
		for end < len(seg) && (seg[end] == '-' || seg[end] == '_' || 'a' <= seg[end]|0x20 && seg[end]|0x20 <= 'z' || '0' <= seg[end] && seg[end] <= '9') {
			end++
		}
		return seg[:end]
	}
	for i := 0; i < len(src); i++ {
		c := src[i]
		switch {
		case quote != 0:
			if c == '\\' {
				i++
			} else if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '(' || c == '[':
			depth++
		case c == ')' || c == ']':
			depth--
		case c == ',' && depth == 0:
			out = append(out, last(src[start:i]))
			start = i + 1
		}
	}
	return append(out, last(src[start:]))
}
