package sync

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
)

// ProductIndex maps a product id to its first category, for naming the
// category of a product page and for flagging events about products the
// catalog does not have. Keys and values are normalised as events are. It
// is read-only once built.
type ProductIndex map[string]string

// catalogEntry is the part of a catalog product the index reads.
type catalogEntry struct {
	ID         string   `json:"id"`
	Categories []string `json:"categories"`
}

// LoadProductIndex reads the product catalog file (a JSON array or NDJSON
// of products with "id" and "categories"; other fields are ignored).
func LoadProductIndex(path string) (ProductIndex, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("sync: product catalog: %w", err)
	}
	defer f.Close()
	return ReadProductIndex(f)
}

// ReadProductIndex is LoadProductIndex from a reader.
func ReadProductIndex(r io.Reader) (ProductIndex, error) {
	idx := ProductIndex{}
	var bad error
	err := ScanItems(r, MaxImportLine, func(index, line int, raw []byte) bool {
		var e catalogEntry
		if err := json.Unmarshal(raw, &e); err != nil || e.ID == "" {
			bad = fmt.Errorf("sync: product catalog: item %d: want an object with an id", index)
			return false
		}
		cat := ""
		if len(e.Categories) > 0 {
			cat = NormalizeName(e.Categories[0], true)
		}
		idx[NormalizeName(e.ID, true)] = cat
		return true
	})
	if bad != nil {
		return nil, bad
	}
	if err != nil {
		return nil, fmt.Errorf("sync: product catalog: %w", err)
	}
	return idx, nil
}

// Category returns the category of product, "" when unknown.
func (x ProductIndex) Category(product string) string { return x[product] }

// Has reports whether the index knows product. A nil index knows every
// product, so that nothing is flagged without a catalog.
func (x ProductIndex) Has(product string) bool {
	if x == nil {
		return true
	}
	_, ok := x[product]
	return ok
}
