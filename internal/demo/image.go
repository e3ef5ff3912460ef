package demo

import (
	"hash/fnv"
	"html"
	"strings"
	"unicode"
	"unicode/utf8"
)

// palettes give each category its colours: a background and a shape colour
// per variant, chosen by a hash of the product id so neighbours differ.
var palettes = map[string][][2]string{
	"electronics": {{"#1d3557", "#4cc9f0"}, {"#22577a", "#80ffdb"}, {"#3a0ca3", "#4895ef"}},
	"outdoor":     {{"#2d6a4f", "#95d5b2"}, {"#386641", "#a7c957"}, {"#344e41", "#dad7cd"}},
	"kitchen":     {{"#9c6644", "#ffd6a5"}, {"#bc4749", "#f2e8cf"}, {"#e76f51", "#f4a261"}},
	"books":       {{"#5a189a", "#e0aaff"}, {"#6d597a", "#eaac8b"}, {"#3c096c", "#c77dff"}},
	"fashion":     {{"#9d0208", "#ffba08"}, {"#b5179e", "#f7aef8"}, {"#343a40", "#f8f9fa"}},
}

// shapes are drawn behind the initials, one per category, so a shopper can
// tell departments apart at a glance.
var shapes = map[string]string{
	"electronics": `<rect x="70" y="40" width="100" height="100" rx="18"/>`,
	"outdoor":     `<path d="M40 150 L105 45 L135 95 L150 75 L200 150 Z"/>`,
	"kitchen":     `<circle cx="120" cy="90" r="55"/>`,
	"books":       `<path d="M65 40 h110 v100 h-110 z M80 40 v100"/>`,
	"fashion":     `<path d="M120 32 L178 90 L120 148 L62 90 Z"/>`,
}

// imagePath is where the shop serves a product's image: a path on the
// shop itself, so that pages need no network beyond it, and an ordinary
// URL, which offer templates (html/template) accept where they would
// refuse a data: URI.
func imagePath(id string) string { return "/img/" + id + ".svg" }

// productImage renders a 240×180 SVG placeholder for a product.
func productImage(id, title, cat string) []byte {
	pal, ok := palettes[cat]
	if !ok {
		pal = [][2]string{{"#495057", "#ced4da"}}
	}
	h := fnv.New32a()
	h.Write([]byte(id))
	colors := pal[int(h.Sum32()%uint32(len(pal)))]
	shape := shapes[cat]
	if shape == "" {
		shape = shapes["kitchen"]
	}
	var b strings.Builder
	b.WriteString(`<svg xmlns="http://www.w3.org/2000/svg" width="240" height="180" viewBox="0 0 240 180">`)
	b.WriteString(`<rect width="240" height="180" fill="` + colors[0] + `"/>`)
	b.WriteString(`<g fill="` + colors[1] + `" fill-opacity="0.85">` + shape + `</g>`)
	b.WriteString(`<text x="120" y="104" font-family="Helvetica,Arial,sans-serif" font-size="40" font-weight="700" text-anchor="middle" fill="#fff" stroke="` + colors[0] + `" stroke-width="1.5">`)
	b.WriteString(html.EscapeString(initials(title)))
	b.WriteString(`</text></svg>`)
	return []byte(b.String())
}

// initials returns the upper-cased first letters of the first two words that
// start with a letter or digit.
func initials(title string) string {
	var out []rune
	for _, w := range strings.Fields(title) {
		r, _ := utf8.DecodeRuneInString(w)
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			out = append(out, unicode.ToUpper(r))
			if len(out) == 2 {
				break
			}
		}
	}
	if len(out) == 0 {
		return "?"
	}
	return string(out)
}
