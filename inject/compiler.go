package inject

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/andybalholm/cascadia"
)

// SlotRule names a slot by CSS selector, as configured by an operator. Every
// element the selector matches becomes a slot with this name, unless it is
// inside another slot, inside a <template>, in SVG or MathML, or already a
// marked slot.
type SlotRule struct {
	// Name is the slot's name, reported in SlotInfo.Name.
	Name string
	// Selector is a CSS selector or a comma-separated group of them, in the
	// dialect of cascadia (the engine under goquery): CSS Level 3 plus
	// :contains, :has and a few others.
	Selector string
	// Mode places the offer; ModeInner (the zero value) replaces the content.
	Mode Mode
}

// Compiler turns page bodies into Plans and caches them. Selectors are parsed
// once, by NewCompiler. A Compiler is safe for concurrent use.
//
// Elements marked with data-marquee-slot="NAME" are slots in every page, in
// ModeInner unless a data-marquee-mode attribute names another mode (an
// unknown mode, or an empty name, leaves the element alone). On a void
// element (img, input, ...) ModeInner means ModeOuter and ModePrepend or
// ModeAppend make no slot. A slot inside another slot is not a slot: the
// outermost element wins, so ranges never overlap.
type Compiler struct {
	opts  Options
	rules []SlotRule
	sels  []cascadia.Selector

	// Delta checks: which differences between two bodies may change the
	// plan besides the tags themselves.
	selAttrs      []string // attribute names selectors test, lower-case
	selIDs        bool     // a selector may test ids (#x)
	selClasses    bool     // a selector may test classes (.x)
	verbatimCopy  bool     // tests only: match on an unshrunken copy
	textSensitive bool     // a selector tests text (:contains, :matches)

	cache *cache
	pool  sync.Pool // *scanner
	dpool sync.Pool // *deltaState

	hits, deltaHits, compiles, failures atomic.Uint64
}

// Stats counts how Plan found its answers since the Compiler was made.
type Stats struct {
	// Hits were served from the cache after a byte-for-byte comparison.
	Hits uint64
	// DeltaHits were derived from a cached sibling page that differs only
	// outside the slots (the changed-page path).
	DeltaHits uint64
	// Compiles ran the full scan (and the selector match, if any).
	Compiles uint64
	// Failures are compiles that returned an error (the page passes through).
	Failures uint64
}

// Stats returns the counters of c.
func (c *Compiler) Stats() Stats {
	return Stats{Hits: c.hits.Load(), DeltaHits: c.deltaHits.Load(), Compiles: c.compiles.Load(), Failures: c.failures.Load()}
}

// NewCompiler parses the selectors of rules and returns a Compiler with an
// empty cache. A rule without a name, or whose selector does not parse, is an
// error naming the rule's index.
func NewCompiler(rules []SlotRule, opts Options) (*Compiler, error) {
	c := &Compiler{opts: opts.withDefaults(), rules: slices.Clone(rules)}
	for i, r := range rules {
		if r.Name == "" {
			return nil, fmt.Errorf("%w: rule %d has no name", ErrRule, i)
		}
		if r.Mode >= numModes {
			return nil, fmt.Errorf("%w: rule %d (%s): mode %v", ErrRule, i, r.Name, r.Mode)
		}
		sel, err := cascadia.Compile(r.Selector)
		if err != nil {
			return nil, fmt.Errorf("%w: rule %d (%s) %q: %v", ErrSelector, i, r.Name, r.Selector, err)
		}
		if tag, ok := selectsRawText(sel, r.Selector); ok {
			return nil, fmt.Errorf("%w: rule %d (%s) %q selects <%s>, whose content is raw text; an offer there would run as script or style", ErrRawTextSlot, i, r.Name, r.Selector, tag)
		}
		c.sels = append(c.sels, sel)
		c.selAttrs = append(c.selAttrs, selectorAttrs(r.Selector)...)
		c.selIDs = c.selIDs || strings.Contains(r.Selector, "#")
		c.selClasses = c.selClasses || strings.Contains(r.Selector, ".")
		if strings.Contains(r.Selector, ":contains") || strings.Contains(r.Selector, ":matches") {
			c.textSensitive = true // also covers :containsOwn and :matchesOwn
		}
	}
	c.cache = newCache(c.opts)
	return c, nil
}

// Plan returns the plan for body, served as contentType (whose charset
// parameter, when present, wins over a <meta> in the body). Plans are cached:
// a body seen before costs a sampled hash and a byte comparison; a body that
// differs from a recent one only outside its slots (a nonce, a CSRF token, a
// timestamp) costs a comparison and a re-scan of the changed regions; any
// other body is compiled.
//
// A page without slots yields a Plan with no slots. An error (ErrUnclosedSlot,
// ErrMisnested, ErrAmbiguous, ErrBudget, ErrTooLarge, ErrCharset) means the
// page must be served unchanged. The returned Plan is valid for this body
// only; it may be shared with other callers and must not be modified. Plan
// keeps copies, never references, of body and contentType, so both may be
// views into buffers the caller reuses.
func (c *Compiler) Plan(body []byte, contentType string) (*Plan, error) {
	return c.PlanHint(nil, body, contentType)
}

// PlanHint is Plan with a hint naming the page, such as the request's host
// and path. Bodies with the same hint are the first siblings tried on the
// changed-page path, which then finds them even when the page's length and
// tail change too. The hint never decides a plan by itself: every plan is
// verified against the body, so a wrong or shared hint costs time only. The
// hint is not retained.
func (c *Compiler) PlanHint(hint, body []byte, contentType string) (*Plan, error) {
	if len(body) > c.opts.MaxBodySize {
		return nil, ErrTooLarge
	}
	if len(c.sels) == 0 && !containsMarker(body) {
		// The fast path's fast path: no marker, no slot. Cheaper than the
		// cache lookup, and it keeps such pages out of the cache.
		return noSlots(body), nil
	}
	keys := c.cache.keys(hint, body, contentType)
	if p, err, ok := c.cache.lookup(keys, body, contentType); ok {
		c.hits.Add(1)
		return p, err
	}
	if c.opts.FamilySize > 0 {
		var cands [4 * maxFamily]*entry
		ms := c.cache.members(keys, contentType, cands[:0])
		// A true miss pays for every failed attempt; a few recent siblings
		// are where a page with a nonce finds its plan.
		for _, e := range ms[:min(len(ms), maxAttempts)] {
			if p := c.deltaPlan(e, body); p != nil {
				c.cache.touch(e)
				c.deltaHits.Add(1)
				return p, nil
			}
		}
	}
	p, err := c.compile(body, contentType)
	c.compiles.Add(1)
	if err != nil {
		c.failures.Add(1)
	}
	c.cache.add(keys, body, contentType, p, err)
	return p, err
}

// Compile compiles body without consulting or filling the cache.
func (c *Compiler) Compile(body []byte, contentType string) (*Plan, error) {
	if len(body) > c.opts.MaxBodySize {
		return nil, ErrTooLarge
	}
	return c.compile(body, contentType)
}

func (c *Compiler) compile(body []byte, contentType string) (*Plan, error) {
	if len(c.sels) == 0 && !containsMarker(body) {
		return noSlots(body), nil
	}
	deadline := time.Now().Add(c.opts.CompileBudget)
	cs, ncr, err := pageCharset(body, contentType)
	if err != nil {
		return nil, err
	}
	s := c.getScanner(deadline)
	defer c.pool.Put(s)
	if len(c.sels) > 0 {
		forced, err := c.matchSelectors(s, body)
		if err != nil {
			return nil, err
		}
		s.reset(deadline)
		s.forced = forced
	}
	if err := s.run(body); err != nil {
		return nil, err
	}
	return &Plan{
		slots:       slices.Clone(s.slots),
		charset:     cs,
		ncr:         ncr,
		size:        len(body),
		checkpoints: slices.Clone(s.checkpoints),
	}, nil
}

func (c *Compiler) getScanner(deadline time.Time) *scanner {
	s, _ := c.pool.Get().(*scanner)
	if s == nil {
		s = &scanner{}
	}
	s.rules = c.rules
	s.reset(deadline)
	return s
}

// reset clears the scan state, keeping allocated slices.
func (s *scanner) reset(deadline time.Time) {
	*s = scanner{
		rules:       s.rules,
		deadline:    deadline,
		lx:          lexer{attrs: s.lx.attrs[:0]},
		tags:        s.tags[:0],
		foreign:     s.foreign[:0],
		tables:      s.tables[:0],
		stack:       s.stack[:0],
		slots:       s.slots[:0],
		checkpoints: s.checkpoints[:0],
	}
}

// selectorAttrs lists the attributes whose values a selector may read: the
// names in its [attr...] tests, and those read by pseudo-classes.
func selectorAttrs(sel string) []string {
	var names []string
	for i := 0; i < len(sel); i++ {
		if sel[i] != '[' {
			continue
		}
		j := i + 1
		for j < len(sel) && sel[j] == ' ' {
			j++
		}
		k := j
		for k < len(sel) && !strings.ContainsRune("]=~|^$*! \t\n", rune(sel[k])) {
			k++
		}
		names = append(names, strings.ToLower(sel[j:k]))
	}
	if strings.Contains(sel, ":") {
		names = append(names, "checked", "selected", "disabled", "lang", "href", "hidden", "open")
	}
	return names
}

// noSlots is the plan of a page without markers. Its charset is left
// unknown: with nothing to splice, no encoding question arises.
func noSlots(body []byte) *Plan { return &Plan{size: len(body)} }

// containsMarker reports whether body contains "data-marquee-slot" in any
// ASCII case. It looks for the rare letter q, once per case.
func containsMarker(body []byte) bool {
	const q = 8 // index of 'q' in markerAttr
	for _, c := range [2]byte{'q', 'Q'} {
		for p := q; p < len(body); {
			i := bytes.IndexByte(body[p:], c)
			if i < 0 {
				break
			}
			p += i
			if s := p - q; s+len(markerAttr) <= len(body) && equalFoldASCII(body[s:s+len(markerAttr)], markerAttr) {
				return true
			}
			p++
		}
	}
	return false
}
