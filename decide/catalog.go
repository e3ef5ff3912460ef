package decide

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/url"
	"os"
	"slices"
	"sort"
	"strings"
	"syscall"
	"time"
)

// MaxCatalogProducts bounds a catalog file.
const MaxCatalogProducts = 1 << 20

// Product is one entry of the catalog, as templates see it. Its JSON form
// is the shape of a catalog file.
type Product struct {
	// ID identifies the product; unique in the catalog.
	ID string `json:"id"`
	// Title is the name shown to shoppers.
	Title string `json:"title"`
	// URL is the product page.
	URL string `json:"url"`
	// Image is the product image's URL.
	Image string `json:"image"`
	// Price is in the shop's currency.
	Price float64 `json:"price"`
	// Categories are category names; views of them raise the product's
	// rank for a visitor.
	Categories []string `json:"categories"`
	// Tags are free-form keywords.
	Tags []string `json:"tags"`
	// Popularity ranks products when a visitor's history says nothing;
	// higher first.
	Popularity float64 `json:"popularity"`
}

// Catalog is the product list recommendations draw from. It is read-only
// after loading.
type Catalog struct {
	products []Product // most popular first
	maxPop   float64

	// Indexes built at load, so that a recommendation scores the products
	// that can rank instead of the whole catalog.
	cats     map[string]int32 // folded category name → category number
	prodCats [][]int32        // per product, its category numbers in order
	byCat    [][]int32        // per category number, its products, ascending
	byID     map[string]int32 // product id → position
	// byFold maps the trimmed, lower-cased form of an id that differs
	// from the id itself to its position, so that events, whose product
	// ids are folded unless events.keep_case is set, find the product.
	byFold map[string]int32
	// byPath maps the path of each product's url to its position, so
	// that the page being served names its product; -1 for a path that
	// several products' urls share.
	byPath map[string]int32
}

// MaxCatalogBytes bounds a catalog file's size; a larger one is refused
// before it is read.
const MaxCatalogBytes = 64 << 20

// CatalogReadTimeout bounds how long reading a catalog may take, so that a
// file on a stuck mount cannot hold a reload or an admin request.
const CatalogReadTimeout = 10 * time.Second

// LoadCatalog reads a JSON array or NDJSON file of products named name
// inside dir, without leaving dir (no "..", no symlink out of it). Only a
// regular file of at most MaxCatalogBytes is read: a FIFO, device or
// directory is refused without blocking. Errors never quote the file.
func LoadCatalog(dir, name string) (*Catalog, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	// O_NONBLOCK: opening a FIFO for reading does not wait for a writer;
	// it is then refused by the mode check below.
	f, err := root.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("not a regular file (%s)", fi.Mode().Type())
	}
	if fi.Size() > MaxCatalogBytes {
		f.Close()
		return nil, fmt.Errorf("larger than %d MiB", MaxCatalogBytes>>20)
	}
	type result struct {
		data []byte
		err  error
	}
	done := make(chan result, 1)
	go func() {
		defer f.Close()
		b, err := io.ReadAll(io.LimitReader(f, MaxCatalogBytes+1))
		done <- result{b, err}
	}()
	var res result
	select {
	case res = <-done:
	case <-time.After(CatalogReadTimeout):
		return nil, fmt.Errorf("not read within %v", CatalogReadTimeout)
	}
	if res.err != nil {
		return nil, res.err
	}
	if len(res.data) > MaxCatalogBytes {
		return nil, fmt.Errorf("larger than %d MiB", MaxCatalogBytes>>20)
	}
	return ReadCatalog(bytes.NewReader(res.data))
}

// jsonError turns a decoding error into one that names a position and
// never the bytes found there, since the file read may not be a catalog
// and its contents are nobody's business. at is the decoder's offset.
func jsonError(err error, at int64) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Errorf("invalid JSON at byte %d", se.Offset)
	case errors.As(err, &te):
		return fmt.Errorf("field %q: wrong type of value at byte %d", te.Field, te.Offset)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("unexpected end of JSON at byte %d", at)
	default:
		// Unknown fields and the rest: their messages quote the input.
		return fmt.Errorf("invalid product at byte %d", at)
	}
}

// ReadCatalog reads a JSON array or NDJSON stream of products. A product
// without an id, or an id seen twice, is an error naming its position.
func ReadCatalog(r io.Reader) (*Catalog, error) {
	br := bufio.NewReader(r)
	first, err := firstNonSpace(br)
	if err != nil {
		if errors.Is(err, io.EOF) {
			return &Catalog{}, nil
		}
		return nil, err
	}
	var products []Product
	dec := json.NewDecoder(br)
	dec.DisallowUnknownFields()
	if first == '[' {
		if _, err := dec.Token(); err != nil {
			return nil, jsonError(err, dec.InputOffset())
		}
		for dec.More() {
			var p Product
			if err := dec.Decode(&p); err != nil {
				return nil, fmt.Errorf("product %d: %w", len(products)+1, jsonError(err, dec.InputOffset()))
			}
			products = append(products, p)
			if len(products) > MaxCatalogProducts {
				return nil, fmt.Errorf("more than %d products", MaxCatalogProducts)
			}
		}
	} else {
		for {
			var p Product
			err := dec.Decode(&p)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return nil, fmt.Errorf("line %d: %w", len(products)+1, jsonError(err, dec.InputOffset()))
			}
			products = append(products, p)
			if len(products) > MaxCatalogProducts {
				return nil, fmt.Errorf("more than %d products", MaxCatalogProducts)
			}
		}
	}
	seen := make(map[string]bool, len(products))
	c := &Catalog{}
	for i, p := range products {
		if p.ID == "" {
			return nil, fmt.Errorf("product %d: no id", i+1)
		}
		if seen[p.ID] {
			return nil, fmt.Errorf("product %d: its id appears twice", i+1)
		}
		seen[p.ID] = true
		if math.IsNaN(p.Popularity) || math.IsInf(p.Popularity, 0) {
			products[i].Popularity = 0
		}
		c.maxPop = max(c.maxPop, products[i].Popularity)
	}
	sort.SliceStable(products, func(i, j int) bool { return products[i].Popularity > products[j].Popularity })
	c.products = products
	c.index()
	return c, nil
}

// index builds the lookup tables of a sorted catalog.
func (c *Catalog) index() {
	c.cats = map[string]int32{}
	c.byID = make(map[string]int32, len(c.products))
	c.byFold = map[string]int32{}
	c.byPath = map[string]int32{}
	c.prodCats = make([][]int32, len(c.products))
	for i := range c.products {
		pr := &c.products[i]
		c.byID[pr.ID] = int32(i)
		if p := urlPath(pr.URL); p != "" {
			if _, dup := c.byPath[p]; dup {
				// Urls that differ only in their query (/item?id=1)
				// share a path, which then names no one product.
				c.byPath[p] = -1
			} else {
				c.byPath[p] = int32(i)
			}
		}
		if k := foldID(pr.ID); k != pr.ID {
			if _, dup := c.byFold[k]; !dup {
				c.byFold[k] = int32(i)
			}
		}
		cs := make([]int32, 0, len(pr.Categories))
		for _, name := range pr.Categories {
			// Folded, as events fold the categories of views by default:
			// a catalog's "Electronics" is a profile's "electronics".
			name = foldID(name)
			n, ok := c.cats[name]
			if !ok {
				n = int32(len(c.byCat))
				c.cats[name] = n
				c.byCat = append(c.byCat, nil)
			}
			if slices.Contains(cs, n) {
				continue // named twice: it counts once
			}
			cs = append(cs, n)
			if l := c.byCat[n]; len(l) == 0 || l[len(l)-1] != int32(i) {
				c.byCat[n] = append(l, int32(i))
			}
		}
		c.prodCats[i] = cs
	}
}

// urlPath is the path of a product url, absolute ("https://shop/p/x")
// or not ("/p/x"), without a trailing slash; "" when it has none.
func urlPath(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return trimSlash(u.Path)
}

// trimSlash removes a trailing slash, except from "/", so that "/p/x/"
// and "/p/x" name one page.
func trimSlash(p string) string {
	if len(p) > 1 && p[len(p)-1] == '/' {
		return p[:len(p)-1]
	}
	return p
}

// lookup returns the position of the product with id, matched exactly or
// after trimming and lower-casing both sides, since events fold product
// ids by default.
func (c *Catalog) lookup(id string) (int32, bool) {
	i, ok := c.byID[id]
	if !ok {
		k := foldID(id)
		if i, ok = c.byID[k]; !ok {
			i, ok = c.byFold[k]
		}
	}
	return i, ok
}

// PageProduct returns the id of the product whose url has path as its
// path, and whether there is one. A nil catalog has no product.
func (c *Catalog) PageProduct(path string) (id string, ok bool) {
	if c == nil || path == "" {
		return "", false
	}
	i, ok := c.byPath[trimSlash(path)]
	if !ok || i < 0 {
		return "", false
	}
	return c.products[i].ID, true
}

// foldID is how the event path normalises a product id or category name
// when it folds case (sync.NormalizeName): trimmed and lower-cased.
func foldID(id string) string { return strings.ToLower(strings.TrimSpace(id)) }

// ProductCategory returns the first category of the product with id, ""
// when it has none, and whether the catalog has the product at all. It is
// how the event path names the category of a product view that names none
// and counts events about products the catalog lacks, so that events and
// recommendations read one catalog. An id matches exactly or after
// trimming and lower-casing both sides, since events fold product ids by
// default. A nil catalog has no product.
func (c *Catalog) ProductCategory(id string) (category string, ok bool) {
	if c == nil {
		return "", false
	}
	i, ok := c.lookup(id)
	if !ok {
		return "", false
	}
	if cs := c.products[i].Categories; len(cs) > 0 {
		return cs[0], true
	}
	return "", true
}

// firstNonSpace returns the first byte after whitespace and a UTF-8 byte
// order mark, leaving it unread.
func firstNonSpace(br *bufio.Reader) (byte, error) {
	if bom, err := br.Peek(3); err == nil && bytes.Equal(bom, []byte{0xef, 0xbb, 0xbf}) {
		br.Discard(3)
	}
	for {
		b, err := br.ReadByte()
		if err != nil {
			return 0, err
		}
		if b != ' ' && b != '\t' && b != '\r' && b != '\n' {
			return b, br.UnreadByte()
		}
	}
}

// Len returns the number of products.
func (c *Catalog) Len() int {
	if c == nil {
		return 0
	}
	return len(c.products)
}
