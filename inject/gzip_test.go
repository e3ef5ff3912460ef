package inject

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"testing"
)

// gunzipStd decodes b with the standard library's gzip reader, which
// verifies the trailer's CRC-32 and length.
func gunzipStd(tb testing.TB, b []byte) []byte {
	tb.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		tb.Fatalf("gzip header: %v", err)
	}
	zr.Multistream(false)
	out, err := io.ReadAll(zr)
	if err != nil {
		tb.Fatalf("gzip stream: %v", err)
	}
	return out
}

var gzModes = []string{"", "inner", "outer", "before", "after", "prepend", "append"}

// randomSlottedPage builds a page of random markup with up to six slots in
// random modes, empty and adjacent ones included, with filler that
// compresses well or not at all.
func randomSlottedPage(r *rand.Rand) []byte {
	var b bytes.Buffer
	if r.IntN(4) != 0 {
		b.WriteString("<!doctype html><html><head><title>shop</title></head><body>")
	}
	filler := func() {
		n := r.IntN(3000)
		if r.IntN(10) == 0 {
			n = 40000 + r.IntN(40000)
		}
		switch r.IntN(3) {
		case 0:
			for b.Len()%7 != 0 || n > 0 {
				fmt.Fprintf(&b, "<li class=\"p\"><a href=\"/p/%d\">Item %d</a> € %d,99</li>\n", r.IntN(500), r.IntN(500), r.IntN(90))
				n -= 60
				if n <= 0 {
					break
				}
			}
		case 1:
			for range n {
				b.WriteByte("abcdefghijklmnopqrstuvwxyz0123456789 ,.-"[r.IntN(40)])
			}
		}
	}
	for i := range r.IntN(7) {
		filler()
		mode := gzModes[r.IntN(len(gzModes))]
		fmt.Fprintf(&b, `<div data-marquee-slot="s%d"`, i)
		if mode != "" {
			fmt.Fprintf(&b, ` data-marquee-mode="%s"`, mode)
		}
		b.WriteString(">")
		if r.IntN(3) != 0 {
			fmt.Fprintf(&b, "fallback %d %s", i, bytes.Repeat([]byte("x"), r.IntN(200)))
		}
		b.WriteString("</div>")
	}
	filler()
	if r.IntN(4) != 0 {
		b.WriteString("</body></html>")
	}
	return b.Bytes()
}

// randomOffers returns offers for n slots: missing, nil (fallback kept),
// empty (fallback removed), ASCII, non-ASCII and long ones.
func randomOffers(r *rand.Rand, n int) [][]byte {
	offers := make([][]byte, r.IntN(n+2))
	for i := range offers {
		switch r.IntN(6) {
		case 0:
		case 1:
			offers[i] = []byte{}
		case 2:
			offers[i] = []byte(fmt.Sprintf("<p>Café crème € %d — ☕</p>", r.IntN(100)))
		case 3:
			offers[i] = bytes.Repeat([]byte("<b>deal</b>"), r.IntN(2000))
		default:
			offers[i] = []byte(fmt.Sprintf(`<a class="offer" href="/o/%d">Save %d%%</a>`, r.IntN(1000), r.IntN(60)))
		}
	}
	return offers
}

// TestGzipSpliceRandom checks the stitched gzip stream over many random
// pages, charsets and offers: the standard library's reader must decode
// each member, CRC and length verified, to exactly the plain splice.
func TestGzipSpliceRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	c, err := NewCompiler(nil, testOptions)
	if err != nil {
		t.Fatal(err)
	}
	pages, stitched := 0, 0
	for _, level := range []int{1, 6} {
		g, err := NewGzipSplicer(GzipOptions{Level: level, StaticLevel: 7 - level})
		if err != nil {
			t.Fatal(err)
		}
		var prev []byte
		for range 150 {
			body := randomSlottedPage(r)
			if prev != nil && r.IntN(3) == 0 {
				// A sibling of the last page with a letter changed: same
				// length, so the changed-page path may hand back the
				// cached plan of a different body.
				body = bytes.Clone(prev)
				for range 20 {
					if i := r.IntN(len(body)); body[i] >= 'a' && body[i] <= 'z' {
						body[i] = 'a' + byte(r.IntN(26))
						break
					}
				}
			}
			prev = body
			ctype := "text/html; charset=utf-8"
			if r.IntN(4) == 0 {
				ctype = "text/html; charset=windows-1252"
			}
			p, err := c.PlanHint([]byte("/page"), body, ctype)
			if err != nil {
				continue // a mutation may break the markup; plain pages are not stitched
			}
			pages++
			for k := range 6 {
				offers := randomOffers(r, p.NumSlots())
				want := p.AppendSplice(nil, body, offers)
				dst := []byte("head")
				out, ok := g.AppendSplice(dst, p, body, offers)
				if !ok {
					if p.NumSlots() > 0 && k > 0 && bytes.Equal(p.src, body) {
						t.Fatalf("slotted plan not stitched on use %d", k+1)
					}
					if !bytes.Equal(out, dst) {
						t.Fatalf("dst changed without stitching")
					}
					continue
				}
				stitched++
				if !bytes.HasPrefix(out, []byte("head")) {
					t.Fatalf("dst prefix lost")
				}
				if got := gunzipStd(t, out[len(dst):]); !bytes.Equal(got, want) {
					t.Fatalf("level %d, %d slots, charset %s: decoded %d bytes, want %d", level, p.NumSlots(), p.Charset(), len(got), len(want))
				}
			}
		}
	}
	if stitched < pages {
		t.Fatalf("only %d of %d pages' requests stitched", stitched, pages)
	}
}

// TestGzipSpliceListing checks the shared listing page with three offers.
func TestGzipSpliceListing(t *testing.T) {
	body := readShared(t, "pages/listing-61k.html")
	c, _ := NewCompiler(nil, testOptions)
	p, err := c.Plan(body, "text/html; charset=utf-8")
	if err != nil || p.NumSlots() == 0 {
		t.Fatalf("plan: %v, %d slots", err, p.NumSlots())
	}
	g, _ := NewGzipSplicer(GzipOptions{})
	offers := listingOffers(p.NumSlots())
	if _, ok := g.AppendSplice(nil, p, body, offers); ok {
		t.Fatal("stitched on the first use; want the plan seen twice first")
	}
	out, ok := g.AppendSplice(nil, p, body, offers)
	if !ok {
		t.Fatal("not stitched on the second use")
	}
	if got, want := gunzipStd(t, out), p.AppendSplice(nil, body, offers); !bytes.Equal(got, want) {
		t.Fatalf("decoded %d bytes, want %d", len(got), len(want))
	}
	if g.HeldBytes() <= 0 || g.HeldBytes() > int64(len(body)) {
		t.Errorf("held %d bytes for a %d-byte page", g.HeldBytes(), len(body))
	}
}

func listingOffers(n int) [][]byte {
	offers := make([][]byte, n)
	for i := range offers {
		offers[i] = []byte(fmt.Sprintf(`<section class="offer"><h2>For you</h2><a href="/c/%d">20%% off today</a></section>`, i))
	}
	return offers
}

// TestGzipSpliceDeclines covers the cases that must fall back to plain
// compression, leaving dst as it was.
func TestGzipSpliceDeclines(t *testing.T) {
	c, _ := NewCompiler(nil, testOptions)
	body := []byte(`<html><body><div data-marquee-slot="a">fb</div>` + string(bytes.Repeat([]byte("<p>x</p>"), 100)) + `</body></html>`)
	p, _ := c.Plan(body, "text/html")
	plain, _ := c.Plan([]byte("<html>no slots</html>"), "text/html")
	uncached, _ := c.Compile(body, "text/html")
	once, _ := NewGzipSplicer(GzipOptions{MinUses: 1})
	tests := []struct {
		name string
		g    *GzipSplicer
		p    *Plan
		body []byte
	}{
		{"no slots", once, plain, []byte("<html>no slots</html>")},
		{"wrong length", once, p, body[1:]},
		{"other body, same length", once, p, bytes.Replace(body, []byte("fb"), []byte("FB"), 1)},
		{"uncached plan", once, uncached, body},
	}
	for _, tt := range tests {
		for range 3 {
			if out, ok := tt.g.AppendSplice([]byte("x"), tt.p, tt.body, nil); ok || string(out) != "x" {
				t.Errorf("%s: got %q, %v; want dst unchanged and false", tt.name, out, ok)
			}
		}
	}
	// Over budget, the parts are built once, used by the call that paid for
	// them, and not again while the budget stays full.
	tiny, _ := NewGzipSplicer(GzipOptions{MaxBytes: 100, MinUses: 1})
	c2, _ := NewCompiler(nil, testOptions)
	fresh, _ := c2.Plan(body, "text/html")
	for i := range 3 {
		out, ok := tiny.AppendSplice(nil, fresh, body, nil)
		if ok != (i == 0) {
			t.Fatalf("over budget, call %d: stitched %v", i, ok)
		}
		if ok && !bytes.Equal(gunzipStd(t, out), body) {
			t.Fatalf("over budget: decoded wrong")
		}
	}
	if tiny.HeldBytes() != 0 {
		t.Errorf("over-budget splicer holds %d bytes", tiny.HeldBytes())
	}
	for _, o := range []GzipOptions{{Level: 10}, {Level: -1}, {StaticLevel: 10}, {MinUses: -1}, {MaxBytes: -1}} {
		if _, err := NewGzipSplicer(o); err == nil {
			t.Errorf("%+v: got no error", o)
		}
	}
}

// TestGzipSpliceConcurrent stitches one plan from many goroutines while its
// parts are being built, for the race detector.
func TestGzipSpliceConcurrent(t *testing.T) {
	c, _ := NewCompiler(nil, testOptions)
	r := rand.New(rand.NewPCG(1, 1))
	var body []byte
	for {
		body = randomSlottedPage(r)
		if p, _ := c.Plan(body, "text/html"); p != nil && p.NumSlots() > 0 {
			break
		}
	}
	p, _ := c.Plan(body, "text/html")
	g, _ := NewGzipSplicer(GzipOptions{})
	offers := randomOffers(r, p.NumSlots())
	want := p.AppendSplice(nil, body, offers)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 20 {
				if out, ok := g.AppendSplice(nil, p, body, offers); ok {
					if got := gunzipStd(t, out); !bytes.Equal(got, want) {
						t.Errorf("decoded %d bytes, want %d", len(got), len(want))
						return
					}
				}
			}
		})
	}
	wg.Wait()
}

// TestGzipSpliceAllocs checks that a stitched request allocates nothing
// once the plan's parts exist.
func TestGzipSpliceAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under -race")
	}
	c, _ := NewCompiler(nil, testOptions)
	body := []byte(`<html><body><div data-marquee-slot="a">fb</div><p>x</p><div data-marquee-slot="b">fb</div></body></html>`)
	for _, ctype := range []string{"text/html; charset=utf-8", "text/html; charset=windows-1252"} {
		p, _ := c.Plan(body, ctype)
		g, _ := NewGzipSplicer(GzipOptions{})
		offers := [][]byte{[]byte("<b>Café</b>"), nil}
		buf := make([]byte, 0, 4096)
		for range 3 {
			g.AppendSplice(buf[:0], p, body, offers)
		}
		if n := testing.AllocsPerRun(100, func() { g.AppendSplice(buf[:0], p, body, offers) }); n != 0 {
			t.Errorf("%s: got %v allocations per stitched splice, want 0", ctype, n)
		}
	}
}

// TestGzipSpliceNonce checks that a page that changes on every request (a
// new plan from the changed-page path each time) is never precompressed:
// it would cost a full compression per request and be used once.
func TestGzipSpliceNonce(t *testing.T) {
	c, _ := NewCompiler(nil, testOptions)
	g, _ := NewGzipSplicer(GzipOptions{})
	for i := range 6 {
		body := []byte(fmt.Sprintf(`<html><head><meta name="csrf" content="%08d"></head><body><div data-marquee-slot="a">fb</div>%s</body></html>`,
			i*7919, bytes.Repeat([]byte("<p>item</p>"), 200)))
		p, err := c.PlanHint([]byte("/listing"), body, "text/html")
		if err != nil || p.NumSlots() != 1 {
			t.Fatalf("plan: %v", err)
		}
		if _, ok := g.AppendSplice(nil, p, body, [][]byte{[]byte("offer")}); ok {
			t.Fatalf("request %d: a one-off plan was stitched", i)
		}
	}
	if s := c.Stats(); s.DeltaHits == 0 {
		t.Fatalf("no plan came from the changed-page path: %+v", s)
	}
	if g.HeldBytes() != 0 {
		t.Fatalf("held %d bytes for one-off plans", g.HeldBytes())
	}
}
