package inject

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"
)

func cachePage(i int) []byte {
	return []byte(fmt.Sprintf(`<html><body><h1>Page %d</h1><div data-marquee-slot=s%d>fb</div>%s</body></html>`,
		i, i, strings.Repeat(fmt.Sprintf("<p>%d</p>", i), i%7)))
}

func TestCacheHitIsVerified(t *testing.T) {
	c, _ := NewCompiler(nil, Options{FamilySize: -1})
	a := cachePage(1)
	p1, err := c.Plan(a, "text/html")
	if err != nil {
		t.Fatal(err)
	}
	p2, _ := c.Plan(bytes.Clone(a), "text/html")
	if p1 != p2 {
		t.Fatalf("got a new plan for the same body, want the cached one")
	}
	// Same sampled key (one unsampled byte differs), different body.
	long := []byte(`<div data-marquee-slot=s>` + strings.Repeat("a", 4000) + `</div>`)
	if _, err := c.Plan(long, "text/html"); err != nil {
		t.Fatal(err)
	}
	b := bytes.Clone(long)
	step := (len(b) - 2*keyEdge - 8) / keySamples
	b[keyEdge+step/2] = '<'
	if c.cache.keys(nil, long, "text/html").exact != c.cache.keys(nil, b, "text/html").exact {
		t.Fatalf("the changed byte is sampled; the test needs an unsampled one")
	}
	if _, err := c.Plan(b, "text/html"); !errors.Is(err, ErrUnclosedSlot) {
		t.Fatalf("got %v, want %v: a key collision must not share a plan", err, ErrUnclosedSlot)
	}
	// Content type is part of the key: the charset may differ.
	p4, _ := c.Plan(a, "text/html; charset=windows-1252")
	if p4 == p1 || p4.Charset() != "windows-1252" {
		t.Fatalf("got charset %q, want windows-1252 for the second content type", p4.Charset())
	}
	if s := c.Stats(); s.Hits != 1 || s.Compiles != 4 {
		t.Fatalf("got %+v, want 1 hit and 4 compiles", s)
	}
}

// TestCacheSameKey checks that bodies sharing a sampled key stay findable:
// a chain keeps the newest few and lookup compares them all.
func TestCacheSameKey(t *testing.T) {
	c, _ := NewCompiler(nil, Options{FamilySize: -1})
	page := func(i int) []byte {
		b := []byte(`<div data-marquee-slot=s>` + strings.Repeat("a", 4000) + `</div>`)
		step := (len(b) - 2*keyEdge - 8) / keySamples
		b[keyEdge+step/2] = byte('A' + i)
		return b
	}
	for i := 0; i < 10; i++ {
		if _, err := c.Plan(page(i), "text/html"); err != nil {
			t.Fatal(err)
		}
	}
	if got := c.cache.keys(nil, page(0), "text/html").exact; got != c.cache.keys(nil, page(9), "text/html").exact {
		t.Fatalf("the pages do not share a key; the test needs them to")
	}
	before := c.Stats()
	for i := 10 - maxChain; i < 10; i++ {
		c.Plan(page(i), "text/html")
	}
	if hits := c.Stats().Hits - before.Hits; hits != maxChain {
		t.Fatalf("got %d hits, want %d: the newest bodies of a key must stay findable", hits, maxChain)
	}
	if n := c.CacheLen(); n != maxChain {
		t.Fatalf("got %d entries, want %d", n, maxChain)
	}
}

func TestCacheBounds(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		max  int
	}{
		{"entries", Options{MaxEntries: 5}, 5},
		{"bytes", Options{MaxBytes: 2000}, 49},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := NewCompiler(nil, tt.opts)
			for i := 0; i < 50; i++ {
				if _, err := c.Plan(cachePage(i), "text/html"); err != nil {
					t.Fatal(err)
				}
				if n := c.CacheLen(); n > tt.max {
					t.Fatalf("got %d entries, want at most %d", n, tt.max)
				}
			}
			// The most recent page is still cached, the first is not.
			before := c.Stats()
			c.Plan(cachePage(49), "text/html")
			c.Plan(cachePage(0), "text/html")
			after := c.Stats()
			if after.Hits-before.Hits != 1 {
				t.Fatalf("got %d hits, want 1 (LRU keeps the newest only)", after.Hits-before.Hits)
			}
			c.cache.mu.Lock()
			defer c.cache.mu.Unlock()
			if c.cache.bytes < 0 || c.cache.bytes > c.cache.maxBytes {
				t.Fatalf("got %d cached bytes, want within [0, %d]", c.cache.bytes, c.cache.maxBytes)
			}
		})
	}
}

func TestCacheFailures(t *testing.T) {
	c, _ := NewCompiler(nil, testOptions)
	body := []byte(`<div data-marquee-slot=a>unclosed`)
	for i := 0; i < 3; i++ {
		if _, err := c.Plan(body, "text/html"); !errors.Is(err, ErrUnclosedSlot) {
			t.Fatalf("got %v, want %v", err, ErrUnclosedSlot)
		}
	}
	if s := c.Stats(); s.Compiles != 1 || s.Hits != 2 || s.Failures != 1 {
		t.Fatalf("got %+v, want the failure compiled once and served from the cache", s)
	}
}

func TestPlanLimits(t *testing.T) {
	big := []byte(strings.Repeat("<p>x</p>", 4000) + `<div data-marquee-slot=a>x</div>`)
	tests := []struct {
		name string
		opts Options
		err  error
	}{
		{"too large", Options{MaxBodySize: 1000}, ErrTooLarge},
		{"budget", Options{CompileBudget: time.Nanosecond}, ErrBudget},
		{"fits", Options{}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := NewCompiler(nil, tt.opts)
			if _, err := c.Plan(big, "text/html"); !errors.Is(err, tt.err) {
				t.Fatalf("got %v, want %v", err, tt.err)
			}
		})
	}
}

func TestSelectorPathRefusesPathologicalNesting(t *testing.T) {
	c, _ := NewCompiler([]SlotRule{{Name: "p", Selector: "p"}}, Options{CompileBudget: time.Minute})
	var b strings.Builder
	for i := 0; i < 2000; i++ {
		fmt.Fprintf(&b, `<b id=%d><i>x`, i)
	}
	start := time.Now()
	if _, err := c.Plan([]byte(b.String()), "text/html"); !errors.Is(err, ErrBudget) {
		t.Fatalf("got %v, want %v", err, ErrBudget)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("refusing took %v, want it before the tree is built", d)
	}
	ok := []byte(strings.Repeat("<p><b>x</b> <i>y</i></p>", 2000))
	if _, err := c.Plan(ok, "text/html"); err != nil {
		t.Fatalf("got %v for closed formatting elements, want none", err)
	}
}

func TestNoMarkerFastPath(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"<p>plain</p>", false},
		{"<div data-marquee-slot=x>", true},
		{"<div DATA-MARQUEE-SLOT=x>", true},
		{"<div data-MarQuee-slot=x>", true},
		{"data-marquee-slo", false},
		{"qqqq marquee", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := containsMarker([]byte(tt.in)); got != tt.want {
			t.Errorf("%q: got %v, want %v", tt.in, got, tt.want)
		}
	}
	c, _ := NewCompiler(nil, testOptions)
	p, err := c.Plan([]byte("<p>no slots</p>"), "text/html")
	if err != nil || p.NumSlots() != 0 {
		t.Fatalf("got %v, %v, want an empty plan", p, err)
	}
	if n := c.CacheLen(); n != 0 {
		t.Fatalf("got %d cached, want 0: marker-free pages need no cache", n)
	}
}

// TestConcurrentPlans runs lookups, compiles, derived plans and evictions
// from several goroutines (meaningful under -race).
func TestConcurrentPlans(t *testing.T) {
	c, _ := NewCompiler(nil, Options{MaxEntries: 8})
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				body := cachePage((i * (g + 1)) % 13)
				if i%3 == 0 {
					body = append(body, fmt.Sprintf("<!-- %d -->", i)...)
				}
				p, err := c.Plan(body, "text/html")
				if err != nil {
					t.Error(err)
					return
				}
				want, _ := c.Compile(body, "text/html")
				if !samePlan(p, want) {
					t.Errorf("got %+v, want %+v", p.slots, want.slots)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// TestCacheCopiesBorrowedInputs checks that the cache keeps no reference to
// the caller's body or content type, which a server may pass as views into
// buffers it reuses.
func TestCacheCopiesBorrowedInputs(t *testing.T) {
	c, _ := NewCompiler(nil, testOptions)
	ctBuf := []byte("text/html; charset=utf-8")
	body := cachePage(3)
	if _, err := c.Plan(body, unsafe.String(&ctBuf[0], len(ctBuf))); err != nil {
		t.Fatal(err)
	}
	orig := bytes.Clone(body)
	copy(ctBuf, "xxxx/xxxx; xxxxxxx=xxxxx")
	for i := range body {
		body[i] = 'z'
	}
	p, err := c.Plan(orig, "text/html; charset=utf-8")
	if err != nil || p.NumSlots() != 1 {
		t.Fatalf("got %v, %v, want the cached plan", p, err)
	}
	if s := c.Stats(); s.Hits != 1 {
		t.Fatalf("got %+v, want 1 hit", s)
	}
}
