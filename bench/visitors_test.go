package bench

import "testing"

func TestPickerBounds(t *testing.T) {
	for _, tc := range []struct {
		n int
		s float64
	}{{1, 1.1}, {2, 1.1}, {100, 1.1}, {10000, 1.01}, {10000, 0.5}, {0, 2}} {
		p := NewPicker(tc.n, tc.s, 7)
		counts := make([]int, p.N())
		for range 50000 {
			i := p.Next()
			if i < 0 || i >= p.N() {
				t.Fatalf("n=%d s=%v: Next() = %d, outside [0, %d)", tc.n, tc.s, i, p.N())
			}
			counts[i]++
		}
		if p.N() > 1 && counts[0] <= counts[p.N()-1] {
			t.Errorf("n=%d s=%v: visitor 0 drawn %d times, last %d: not skewed", tc.n, tc.s, counts[0], counts[p.N()-1])
		}
	}
}

func TestPickerNextAllocs(t *testing.T) {
	p := NewPicker(1000, DefaultZipfS, 1)
	if n := testing.AllocsPerRun(100, func() { p.Next() }); n != 0 {
		t.Errorf("Next allocates %v times", n)
	}
}

func TestNewVisitorID(t *testing.T) {
	id := NewVisitorID()
	if len(id) != 22 {
		t.Fatalf("id %q has %d characters, want 22", id, len(id))
	}
	if NewVisitorID() == id {
		t.Fatal("two ids are equal")
	}
}
