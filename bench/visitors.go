package bench

import (
	"crypto/rand"
	"encoding/base64"
	mrand "math/rand/v2"
)

// DefaultZipfS is the default Zipf exponent of visitor popularity: a few
// visitors come back often, most rarely, as on a real shop.
const DefaultZipfS = 1.1

// Picker draws visitor indexes in [0, n) from a Zipf distribution: index 0
// is the most frequent visitor. It is not safe for concurrent use; give
// each load-generating goroutine its own. Next never allocates.
type Picker struct {
	z *mrand.Zipf
	n int
}

// NewPicker returns a Picker over n visitors (n >= 1) with exponent s
// (> 1; smaller values are raised to just above 1), seeded by seed.
func NewPicker(n int, s float64, seed uint64) *Picker {
	n = max(n, 1)
	if s <= 1 {
		s = 1.0001
	}
	r := mrand.New(mrand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	return &Picker{z: mrand.NewZipf(r, s, 1, uint64(n-1)), n: n}
}

// Next returns the next visitor index.
func (p *Picker) Next() int { return int(p.z.Uint64()) }

// N returns the number of visitors.
func (p *Picker) N() int { return p.n }

// NewVisitorID returns a random visitor id as marquee's cookies carry it:
// 16 random bytes in unpadded base64url (22 characters).
func NewVisitorID() string {
	var b [16]byte
	rand.Read(b[:]) // never fails (crypto/rand, Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b[:])
}
