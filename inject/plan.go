package inject

// SlotInfo describes one slot of a compiled page. Offsets index the body the
// plan was made for; for a void element the content range is empty at the end
// of its tag.
type SlotInfo struct {
	// Name is the slot's name: the marker attribute's value as written, or
	// the SlotRule's Name.
	Name string
	// Mode is how offers are placed.
	Mode Mode
	// Rule is the index of the SlotRule that selected the element, or -1 for
	// an element marked with data-marquee-slot.
	Rule int
	// ElementStart and ElementEnd bound the element from '<' of its start
	// tag to just after '>' of its end tag.
	ElementStart, ElementEnd int
	// ContentStart and ContentEnd bound the element's content.
	ContentStart, ContentEnd int
	// Start and End bound the bytes an offer replaces; Start == End for the
	// inserting modes (before, after, prepend, append), whose fallback is
	// nothing.
	Start, End int
}

// Plan is a compiled page: its slots in document order, with disjoint,
// ascending replaced ranges, and what the splice must know about its charset.
// A Plan is immutable and safe to share between goroutines.
type Plan struct {
	slots   []SlotInfo
	charset string
	ncr     bool
	size    int

	// checkpoints are resume points for the changed-page path; only plans
	// compiled from scratch carry them.
	checkpoints []int

	// src is the body the plan was compiled for, shared with its cache
	// entry and set before the plan is published; nil for plans not cached
	// (the changed-page path's, pages without markers). The changed-page
	// path may return a cached plan for another body whose slots did not
	// move, so GzipSplicer compares bodies against src before reusing
	// parts compressed from it.
	src []byte

	// gz is the plan's precompressed form for GzipSplicer, built on demand
	// (gzip.go). It is a cache, not part of what the plan means.
	gz gzipState
}

// NumSlots returns the number of slots.
func (p *Plan) NumSlots() int { return len(p.slots) }

// Slot returns slot i; it returns the zero SlotInfo (with Rule -1) when i is
// out of range rather than panicking.
func (p *Plan) Slot(i int) SlotInfo {
	if i < 0 || i >= len(p.slots) {
		return SlotInfo{Rule: -1}
	}
	return p.slots[i]
}

// Index returns the index of the first slot named name, or -1. Several
// elements may carry the same name; each is its own slot, in document order.
func (p *Plan) Index(name string) int {
	for i := range p.slots {
		if p.slots[i].Name == name {
			return i
		}
	}
	return -1
}

// Charset returns the page's encoding name as the WHATWG Encoding standard
// spells it ("utf-8", "windows-1252", "shift_jis", ...), or "" for a page
// without markers and selector rules, whose encoding is never examined.
func (p *Plan) Charset() string { return p.charset }

// EncodesOffers reports whether AppendSplice writes non-ASCII characters of
// offers as numeric character references, because the page is not UTF-8.
func (p *Plan) EncodesOffers() bool { return p.ncr }

// Source returns the body a cached plan was compiled for, shared with its
// plan-cache entry and never modified, or nil for a plan not cached. A
// plan the changed-page path found for another body carries that body's
// source: compare before relying on it. A caller that keeps the page may
// keep this slice instead of a copy, so that GzipSplicer finds body and
// source to be the same memory and compares nothing.
func (p *Plan) Source() []byte { return p.src }

// BodySize returns the length of the body the plan was made for.
func (p *Plan) BodySize() int { return p.size }

// Regions appends the replaced ranges [Start, End) of all slots to dst as
// pairs and returns it: the bytes outside them are never changed by a splice.
func (p *Plan) Regions(dst [][2]int) [][2]int {
	for i := range p.slots {
		dst = append(dst, [2]int{p.slots[i].Start, p.slots[i].End})
	}
	return dst
}

// memSize estimates the memory a plan holds, for the cache's byte cap.
func (p *Plan) memSize() int64 {
	n := 96 + len(p.checkpoints)*8
	for i := range p.slots {
		n += 96 + len(p.slots[i].Name)
	}
	return int64(n)
}
