package inject

import (
	"bytes"
	"fmt"
	"hash/crc32"
	"hash/maphash"
	"slices"
	"testing"
)

// The standard page for benchmarks: 61 KB, three marked slots.
const (
	benchPage  = "pages/listing-61k.html"
	benchCType = "text/html; charset=utf-8"
)

var benchRules = []SlotRule{
	{Name: "hero", Selector: `[data-marquee-slot="hero"]`},
	{Name: "nav", Selector: "nav", Mode: ModeAfter},
	{Name: "first-card-title", Selector: "h3.product-title:first-of-type", Mode: ModePrepend},
}

var benchOffers = [][]byte{
	[]byte(`<a href="/vip">Members save 20% today</a>`),
	[]byte(`<p>Your exclusive code: WELCOME10</p>`),
	[]byte(`<p>Recommended for you</p>`),
}

// BenchmarkBaselineCopy is the floor a splice is measured against: one copy
// of the page into a reused buffer.
func BenchmarkBaselineCopy(b *testing.B) {
	body := readShared(b, benchPage)
	dst := make([]byte, 0, 2*len(body))
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		dst = append(dst[:0], body...)
	}
}

func BenchmarkSplice(b *testing.B) {
	body := readShared(b, benchPage)
	c, _ := NewCompiler(nil, Options{})
	p, err := c.Plan(body, benchCType)
	if err != nil || p.NumSlots() != 3 {
		b.Fatalf("plan: %v, %d slots", err, p.NumSlots())
	}
	dst := make([]byte, 0, 2*len(body))
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		dst = p.AppendSplice(dst[:0], body, benchOffers)
	}
}

// BenchmarkCompileMarkers is a cache miss on an attribute-marked page: the
// streaming scan alone.
func BenchmarkCompileMarkers(b *testing.B) {
	body := readShared(b, benchPage)
	c, _ := NewCompiler(nil, Options{})
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Compile(body, benchCType); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCompileSelectors is a cache miss with CSS selector rules: two
// scans, a private copy, a tree parse and the matching.
func BenchmarkCompileSelectors(b *testing.B) {
	body := readShared(b, benchPage)
	c, err := NewCompiler(benchRules, Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Compile(body, benchCType); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPlanCacheHit is the per-request cost of finding the plan of a
// page seen before: sampled key, map lookup, bytes.Equal.
func BenchmarkPlanCacheHit(b *testing.B) {
	body := readShared(b, benchPage)
	c, _ := NewCompiler(nil, Options{})
	if _, err := c.Plan(body, benchCType); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Plan(body, benchCType); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPlanCacheHitAndSplice is what a personalised request adds to a
// proxied one, on both cores.
func BenchmarkPlanCacheHitAndSplice(b *testing.B) {
	body := readShared(b, benchPage)
	c, _ := NewCompiler(nil, Options{})
	if _, err := c.Plan(body, benchCType); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			p, err := c.Plan(body, benchCType)
			if err != nil {
				b.Error(err)
				return
			}
			buf := AcquireBuffer()
			buf.B = p.AppendSplice(buf.B, body, benchOffers)
			ReleaseBuffer(buf)
		}
	})
}

// noncePage returns the standard page as an origin with a per-request CSP
// nonce, CSRF token and timestamp would render it for request i.
func noncePage(body []byte, i int) []byte {
	head := fmt.Sprintf(`<head>
<meta name="csrf-token" content="%032x">
<script nonce="%016x">window.__t=%d;</script>`, i*7919+1, i*31+7, 1_700_000_000+i)
	foot := fmt.Sprintf("<!-- rendered in %dms at req %d -->\n</body>", i%97, i)
	out := bytes.Replace(body, []byte("<head>"), []byte(head), 1)
	return bytes.Replace(out, []byte("</body>"), []byte(foot), 1)
}

// BenchmarkPlanNonce is a page that differs on every request outside its
// slots: the changed-page path against a cached sibling.
func BenchmarkPlanNonce(b *testing.B) {
	for _, tc := range []struct {
		name  string
		rules []SlotRule
	}{{"markers", nil}, {"selectors", benchRules}} {
		b.Run(tc.name, func(b *testing.B) {
			body := readShared(b, benchPage)
			c, err := NewCompiler(tc.rules, Options{})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := c.Plan(noncePage(body, -1), benchCType); err != nil {
				b.Fatal(err)
			}
			pages := make([][]byte, 64)
			for i := range pages {
				pages[i] = noncePage(body, i*1000003)
			}
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, err := c.Plan(pages[i%len(pages)], benchCType); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

// BenchmarkKey compares ways to key the cache on the 61 KB page; the chosen
// one (sampled hash, then bytes.Equal) is "sampled+equal".
func BenchmarkKey(b *testing.B) {
	body := readShared(b, benchPage)
	other := bytes.Clone(body)
	c := newCache(Options{}.withDefaults())
	seed := maphash.MakeSeed()
	table := crc32.MakeTable(crc32.Castagnoli)
	var sink uint64
	cases := []struct {
		name string
		f    func()
	}{
		{"sampled", func() { sink += c.keys(nil, body, benchCType).exact }},
		{"sampled+equal", func() {
			sink += c.keys(nil, body, benchCType).exact
			if bytes.Equal(body, other) {
				sink++
			}
		}},
		{"bytes.Equal", func() {
			if bytes.Equal(body, other) {
				sink++
			}
		}},
		{"maphash-full", func() { sink += maphash.Bytes(seed, body) }},
		{"crc32c-full", func() { sink += uint64(crc32.Checksum(body, table)) }},
		{"crc32-ieee-full", func() { sink += uint64(crc32.ChecksumIEEE(body)) }},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				tc.f()
			}
		})
	}
	_ = sink
}

// BenchmarkPlanMiss is a page never seen, whose siblings are cached but
// differ in structure: the failed changed-page attempts, the compile, and
// caching a copy of the body.
func BenchmarkPlanMiss(b *testing.B) {
	body := readShared(b, benchPage)
	c, _ := NewCompiler(nil, Options{})
	at := bytes.Index(body, []byte("<article"))
	variant := func(i int) []byte {
		extra := fmt.Sprintf(`<div class="ad-%d"><span>%d</span></div>`, i, i)
		return slices.Concat(body[:at], []byte(extra), body[at:])
	}
	for i := 0; i < 4; i++ {
		if _, err := c.Plan(variant(-1-i), benchCType); err != nil {
			b.Fatal(err)
		}
	}
	pages := make([][]byte, 4096)
	for i := range pages {
		pages[i] = variant(i)
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := c.Plan(pages[i%len(pages)], benchCType); err != nil {
			b.Fatal(err)
		}
		i++
	}
	if s := c.Stats(); s.DeltaHits > 0 {
		b.Fatalf("got %d derived plans, want none: the variants differ in structure", s.DeltaHits)
	}
}
