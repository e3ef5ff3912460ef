package gzsplice

import "hash/crc32"

// CRC-32 arithmetic in GF(2) modulo the IEEE polynomial, bit-reflected as
// hash/crc32 and gzip use it (RFC 1952 §8), after zlib's crc32_combine
// (zlib 1.2.12 and later): appending len2 bytes to a message multiplies its
// CRC register by x^(8·len2) modulo P. Combining a precomputed part thus
// costs one 32-step multiplication, not a pass over the part's bytes.

// poly is the reversed IEEE polynomial (hash/crc32.IEEE).
const poly = crc32.IEEE

// one is the polynomial 1 in the reflected representation.
const one = uint32(1) << 31

// x2n[k] is x^(2^k) modulo P.
var x2n = func() (t [32]uint32) {
	p := one >> 1 // x^1
	t[0] = p
	for k := 1; k < len(t); k++ {
		p = multModP(p, p)
		t[k] = p
	}
	return t
}()

// multModP returns a·b modulo P.
func multModP(a, b uint32) uint32 {
	var p uint32
	for m := one; a != 0 && m != 0; m >>= 1 {
		if a&m != 0 {
			p ^= b
			a ^= m
		}
		if b&1 != 0 {
			b = b>>1 ^ poly
		} else {
			b >>= 1
		}
	}
	return p
}

// shiftOf returns x^(8·n) modulo P: the operator that appends n bytes.
func shiftOf(n uint64) uint32 {
	p := one
	for k := 3; n != 0; n, k = n>>1, k+1 {
		if n&1 != 0 {
			p = multModP(x2n[k&31], p)
		}
	}
	return p
}

// CRC32Combine returns the IEEE CRC-32 of the concatenation A‖B given crc1,
// the CRC-32 of A, crc2, the CRC-32 of B, and len2, the length of B, in the
// time of about len2's bit length 32-step multiplications, independent of
// the lengths of A and B.
func CRC32Combine(crc1, crc2 uint32, len2 int64) uint32 {
	return multModP(shiftOf(uint64(len2)), crc1) ^ crc2
}
