package gzsplice

import (
	"bytes"
	"compress/gzip"
	"io"
	"math/rand/v2"
	"testing"
)

// gunzip decodes a gzip stream with the standard library's reader, which
// checks the trailer's CRC-32 and ISIZE.
func gunzip(tb testing.TB, b []byte) []byte {
	tb.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		tb.Fatalf("gzip header: %v", err)
	}
	zr.Multistream(false)
	out, err := io.ReadAll(zr)
	if err != nil {
		tb.Fatalf("gzip body: %v", err)
	}
	if err := zr.Close(); err != nil {
		tb.Fatalf("gzip close: %v", err)
	}
	return out
}

// randomPart returns text that compresses (repeated words) or does not
// (random bytes), of random length including zero.
func randomPart(r *rand.Rand) []byte {
	n := r.IntN(4000)
	if r.IntN(8) == 0 {
		n = r.IntN(70000) // beyond the 32 KiB window and a block's size
	}
	b := make([]byte, 0, n)
	words := []string{"<div class=\"card\">", "</div>", "price", " ", "\n", "€ 12,99", "<a href=\"/p/", "\">"}
	random := r.IntN(3) == 0
	for len(b) < n {
		if random {
			b = append(b, byte(r.Uint32()))
		} else {
			b = append(b, words[r.IntN(len(words))]...)
		}
	}
	return b[:n]
}

// TestStreamRandom assembles members from random precompressed and fresh
// parts at every level and checks that the standard library decodes each
// to exactly the concatenation of the parts.
func TestStreamRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for level := -2; level <= 9; level++ {
		e, err := NewEncoder(level)
		if err != nil {
			t.Fatal(err)
		}
		for range 25 {
			var want []byte
			var segs []Segment
			var fresh [][]byte
			kinds := make([]bool, r.IntN(9))
			for i := range kinds {
				p := randomPart(r)
				want = append(want, p...)
				if kinds[i] = r.IntN(2) == 0; kinds[i] {
					segs = append(segs, e.Segment(p))
				} else {
					fresh = append(fresh, p)
				}
			}
			dst := []byte("prefix")
			s := e.Begin(dst)
			for _, seg := range kinds {
				if seg {
					s.AppendSegment(&segs[0])
					segs = segs[1:]
				} else {
					s.Append(fresh[0])
					fresh = fresh[1:]
				}
			}
			out := s.Finish()
			if !bytes.HasPrefix(out, dst) {
				t.Fatalf("level %d: dst prefix lost", level)
			}
			if got := gunzip(t, out[len(dst):]); !bytes.Equal(got, want) {
				t.Fatalf("level %d: decoded %d bytes, want %d (first difference at %d)", level, len(got), len(want), firstDiff(got, want))
			}
		}
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

func TestNewEncoderLevel(t *testing.T) {
	for _, l := range []int{-3, 10} {
		if _, err := NewEncoder(l); err != ErrLevel {
			t.Errorf("level %d: got %v, want ErrLevel", l, err)
		}
	}
}

// TestSegmentShared checks that one Segment serves many concurrent Streams.
func TestSegmentShared(t *testing.T) {
	e, _ := NewEncoder(1)
	page := bytes.Repeat([]byte("<li>item</li>"), 3000)
	seg := e.Segment(page)
	done := make(chan []byte)
	for i := range 8 {
		go func() {
			offer := bytes.Repeat([]byte{'a' + byte(i)}, 100+i)
			s := e.Begin(nil)
			s.AppendSegment(&seg)
			s.Append(offer)
			s.AppendSegment(&seg)
			done <- s.Finish()
		}()
	}
	for range 8 {
		out := gunzip(t, <-done)
		if len(out) < 2*len(page) || !bytes.Equal(out[:len(page)], page) || !bytes.Equal(out[len(out)-len(page):], page) {
			t.Fatalf("concurrent stream decoded wrong (%d bytes)", len(out))
		}
	}
}

// FuzzStream cuts fuzzed data into parts, precompressing every other one,
// and checks the member decodes to the data.
func FuzzStream(f *testing.F) {
	f.Add([]byte("<html><body><div data-marquee-slot=\"hero\">x</div></body></html>"), uint16(10), uint16(40), uint8(1))
	f.Add([]byte{}, uint16(0), uint16(0), uint8(9))
	f.Fuzz(func(t *testing.T, data []byte, c1, c2 uint16, level uint8) {
		e, err := NewEncoder(int(level%12) - 2)
		if err != nil {
			t.Fatal(err)
		}
		a := min(int(c1), len(data))
		b := min(max(int(c2), a), len(data))
		s := e.Begin(nil)
		seg0, seg2 := e.Segment(data[:a]), e.Segment(data[b:])
		s.AppendSegment(&seg0)
		s.Append(data[a:b])
		s.AppendSegment(&seg2)
		if got := gunzip(t, s.Finish()); !bytes.Equal(got, data) {
			t.Fatalf("decoded %q, want %q", got, data)
		}
	})
}

func TestStreamAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under -race")
	}
	e, _ := NewEncoder(1)
	seg := e.Segment(bytes.Repeat([]byte("<li>item</li>"), 1000))
	offer := []byte("<p>offer</p>")
	buf := make([]byte, 0, 64<<10)
	s := e.Begin(buf)
	s.Append(offer) // warm the pool
	s.Finish()
	if n := testing.AllocsPerRun(100, func() {
		s := e.Begin(buf[:0])
		s.AppendSegment(&seg)
		s.Append(offer)
		s.AppendSegment(&seg)
		_ = s.Finish()
	}); n != 0 {
		t.Errorf("got %v allocations per member, want 0", n)
	}
}
