// Package inject owns the HTML side of personalisation: compiling a page once
// into a plan of byte ranges (its slots), caching plans, and splicing offers
// into a page per request. It knows nothing of HTTP or of visitors.
//
// # Request path
//
// Compiler.Plan runs on the request path: it finds the cached plan of a body
// (a sampled hash, then a byte-for-byte comparison), or derives it from a
// cached sibling page that differs only by a nonce, a token or a timestamp,
// or compiles it. Plan.AppendSplice then writes prefix + offer + middle + ...
// into a caller's buffer and allocates nothing. Everything else (selector
// parsing, tree building) happens once per distinct page.
//
// For gzip clients GzipSplicer.AppendSplice writes the same output as a gzip
// member instead, stitched from the plan's static parts, compressed once on
// the plan's second use, and the offers, compressed per request (the
// mechanics are in package inject/gzsplice): about 0.3 µs on the 61 KB
// listing page against 65 µs for compressing the spliced page.
//
// # Slots
//
// A slot is an element marked data-marquee-slot="NAME" (mode from an optional
// data-marquee-mode attribute, inner by default) or matched by the CSS
// selector of a SlotRule. The byte ranges come from a tokenizer pass over the
// original bytes, never from a re-rendered tree, and follow the HTML
// standard: attribute names in any case, values quoted either way or not at
// all, a slot's own end tag after nested elements of the same name, "<div/>"
// as a start tag. Markers inside comments, <script>, <style>, <template>,
// <textarea>, <title>, other raw text elements, attribute values, and SVG or
// MathML content are not slots. Table parts (td, tr, ...) and html, head and
// body are never slots; nor is a slot inside another slot.
//
// Where the tree builder would move a slot's boundary (an unclosed slot,
// misnested tags, implied end tags that close the slot, foster parenting), or
// the tokenizer state depends on parser details the scan does not model,
// Plan returns an error and the page must be served unchanged.
//
// # Invariant
//
// For every plan p of body b and any offers, the output of
// p.AppendSplice(nil, b, offers) with the offers cut out equals b with the
// ranges of p.Regions cut out: bytes outside slots never change.
package inject
