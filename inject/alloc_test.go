package inject

import "testing"

// TestAllocations proves the request path allocates nothing: a cache hit and
// a splice into a buffer with capacity.
func TestAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	body := []byte(`<html><body><div data-marquee-slot=a>x</div><p>y</p><span data-marquee-slot=b>z</span></body></html>`)
	offers := [][]byte{[]byte("<b>A</b>"), []byte("B é")}
	for _, ctype := range []string{"text/html; charset=utf-8", "text/html; charset=windows-1252"} {
		c, _ := NewCompiler(nil, testOptions)
		if _, err := c.Plan(body, ctype); err != nil {
			t.Fatal(err)
		}
		dst := make([]byte, 0, 1024)
		if n := testing.AllocsPerRun(100, func() {
			p, err := c.Plan(body, ctype)
			if err != nil {
				t.Fatal(err)
			}
			dst = p.AppendSplice(dst[:0], body, offers)
		}); n != 0 {
			t.Errorf("%s: got %v allocations per lookup and splice, want 0", ctype, n)
		}
		if n := testing.AllocsPerRun(100, func() {
			b := AcquireBuffer()
			p, _ := c.Plan(body, ctype)
			b.B = p.AppendSplice(b.B, body, offers)
			ReleaseBuffer(b)
		}); n != 0 {
			t.Errorf("%s: got %v allocations with a pooled buffer, want 0", ctype, n)
		}
	}
}
