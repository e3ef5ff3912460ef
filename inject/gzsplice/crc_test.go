package gzsplice

import (
	"hash/crc32"
	"math/rand/v2"
	"testing"
)

// TestCRC32Combine checks the combined CRC against one computed over the
// concatenation, for every split of random messages, including empty parts.
func TestCRC32Combine(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		msg := make([]byte, r.IntN(3000))
		for i := range msg {
			msg[i] = byte(r.Uint32())
		}
		want := crc32.ChecksumIEEE(msg)
		for _, cut := range []int{0, len(msg), r.IntN(len(msg) + 1)} {
			a, b := msg[:cut], msg[cut:]
			got := CRC32Combine(crc32.ChecksumIEEE(a), crc32.ChecksumIEEE(b), int64(len(b)))
			if got != want {
				t.Fatalf("len %d cut %d: got %#08x, want %#08x", len(msg), cut, got, want)
			}
		}
	}
}

// TestShiftLarge checks the shift operator for lengths past 2^32, where
// ISIZE wraps but the CRC must not: appending n zero bytes to a register
// multiplies it by x^(8n), so shifting by a+b equals shifting by a then b.
func TestShiftLarge(t *testing.T) {
	for _, n := range []uint64{1 << 32, 1<<32 + 7, 1<<40 + 12345} {
		a := n / 3
		if got, want := shiftOf(n), multModP(shiftOf(a), shiftOf(n-a)); got != want {
			t.Errorf("shift %d: got %#08x, want %#08x", n, got, want)
		}
	}
	if got := shiftOf(0); got != one {
		t.Errorf("shift 0: got %#08x, want %#08x", got, one)
	}
}

func BenchmarkCRC32Combine(b *testing.B) {
	b.ReportAllocs()
	var c uint32
	for i := 0; b.Loop(); i++ {
		c = CRC32Combine(c, uint32(i), 60000)
	}
	_ = c
}
