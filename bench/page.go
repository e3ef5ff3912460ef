package bench

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/marquee-proxy/marquee/inject"
)

// ListingPage is a copy of the shared 61 KB listing page (41 product cards,
// slots hero, offer and recs): the standard page of marquee's benchmarks,
// so that figures from different runs describe the same work.
//
//go:embed testdata/listing-61k.html
var ListingPage []byte

// NonceLen is the length of the per-request token the origin simulator
// writes into a page's csrf-token meta tag.
const NonceLen = 32

// ErrNoSlots is returned for a page without a slot marquee would fill.
var ErrNoSlots = errors.New("bench: the page has no slots")

var (
	nonceMeta  = []byte(`<meta name="csrf-token" content="`)
	headOpen   = []byte("<head>")
	zeroNonce  = bytes.Repeat([]byte("0"), NonceLen)
	cardPrices = []string{"19.99", "34.50", "60.99", "78.99", "129.00", "249.95"}
)

// Slot is one slot of a page: its name and the fallback content the origin
// put in it.
type Slot struct {
	// Name is the slot's name, as campaigns refer to it.
	Name string
	// Fallback is the content the slot's region holds in the page.
	Fallback string
}

// PageSlots returns the slots of page in document order, found by the same
// compiler the proxy uses, with no CSS-selector rules.
func PageSlots(page []byte) ([]Slot, error) {
	// A generous budget: this runs once, and may run under the race
	// detector on a busy machine.
	c, err := inject.NewCompiler(nil, inject.Options{CompileBudget: 10 * time.Second})
	if err != nil {
		return nil, err
	}
	plan, err := c.Plan(page, "text/html; charset=utf-8")
	if err != nil {
		return nil, fmt.Errorf("bench: compiling the page: %w", err)
	}
	if plan.NumSlots() == 0 {
		return nil, ErrNoSlots
	}
	regions := plan.Regions(nil)
	slots := make([]Slot, 0, plan.NumSlots())
	for i := range plan.NumSlots() {
		s := Slot{Name: plan.Slot(i).Name}
		if i < len(regions) {
			s.Fallback = string(page[regions[i][0]:regions[i][1]])
		}
		slots = append(slots, s)
	}
	return slots, nil
}

// SlotNames returns the distinct slot names of slots, in order.
func SlotNames(slots []Slot) []string {
	var names []string
	seen := map[string]bool{}
	for _, s := range slots {
		if !seen[s.Name] {
			seen[s.Name] = true
			names = append(names, s.Name)
		}
	}
	return names
}

// WithNonce returns a copy of page carrying a csrf-token meta tag whose
// content is NonceLen bytes, and the offset of that content. A page that
// has such a tag with content of another length, or none, gets one
// inserted right after <head> (or at the start when there is no <head>).
func WithNonce(page []byte) ([]byte, int) {
	if i := bytes.Index(page, nonceMeta); i >= 0 {
		start := i + len(nonceMeta)
		if end := bytes.IndexByte(page[start:], '"'); end == NonceLen {
			return bytes.Clone(page), start
		}
	}
	at := 0
	if i := bytes.Index(page, headOpen); i >= 0 {
		at = i + len(headOpen)
	}
	out := make([]byte, 0, len(page)+len(nonceMeta)+NonceLen+3)
	out = append(out, page[:at]...)
	out = append(out, '\n')
	out = append(out, nonceMeta...)
	off := len(out)
	out = append(out, zeroNonce...)
	out = append(out, `">`...)
	out = append(out, page[at:]...)
	return out, off
}

// GeneratePage returns a synthetic product-listing page of about size bytes
// (at least the size of its fixed markup) with n slots named slot0 … slotN-1
// spread evenly between product cards, each with short fallback content.
func GeneratePage(size, n int) []byte {
	n = max(n, 0)
	var b bytes.Buffer
	b.WriteString(`<!doctype html>
<html lang="en"><head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Generated listing | Acme Outdoor</title>
<meta name="description" content="A generated category page for load tests.">
<style>.pg{display:grid;grid-template-columns:repeat(4,1fr);gap:1rem}.product-card{border:1px solid #ddd;padding:.5rem}.price{font-weight:700}</style>
</head>
<body>
<header class="site-header"><nav><a href="/">Home</a> <a href="/c/shoes">Shoes</a> <a href="/c/jackets">Jackets</a> <a href="/cart">Cart</a></nav></header>
<main><h1>Generated listing</h1>
<section class="product-grid pg">
`)
	const tail = "</section>\n</main>\n<footer class=\"site-footer\"><p class=\"legal\">&copy; Acme Inc.</p></footer>\n</body></html>\n"
	card := func(i int) {
		price := cardPrices[i%len(cardPrices)]
		fmt.Fprintf(&b, `<article class="product-card c%d" data-sku="SKU-%06d" data-price="%s"><a href="/p/%d"><img src="/img/%d.jpg" alt="Product %d" width="240" height="240" loading="lazy"></a><h3><a href="/p/%d">Trail product %d</a></h3><p class="price">$%s</p><button class="add" data-sku="SKU-%06d">Add to cart</button></article>
`, i%8, i, price, i, i, i, i, i, price, i)
	}
	slot := func(j int) {
		fmt.Fprintf(&b, "<div class=\"promo\" data-marquee-slot=\"slot%d\"><p>Seasonal picks, section %d</p></div>\n", j, j)
	}
	// Each card is about 330 bytes; estimate the count, then put the
	// slots between evenly spaced cards.
	const perCard, perSlot = 330, 80
	cards := max((size-b.Len()-len(tail)-n*perSlot)/perCard, n)
	next := 0
	for i := range cards {
		for next < n && next*cards <= i*n {
			slot(next)
			next++
		}
		card(i)
	}
	for ; next < n; next++ {
		slot(next)
	}
	b.WriteString(tail)
	return b.Bytes()
}

// pageLabel describes a page for the report.
func pageLabel(name string, page []byte, slots []Slot) string {
	return name + " (" + strconv.Itoa(len(page)) + " bytes, " + strconv.Itoa(len(slots)) + " slots)"
}
