package device

import (
	"testing"
)

var sink Info

// BenchmarkLookupHit is the per-request cost of device.* for a returning
// User-Agent: a hash and a comparison.
func BenchmarkLookupHit(b *testing.B) {
	c := New(0)
	ua := []byte(knownAgents[1].ua)
	c.Lookup(ua)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		var i Info
		for pb.Next() {
			i = c.Lookup(ua)
		}
		sink = i
	})
}

// BenchmarkParse is the baseline: parsing on every request.
func BenchmarkParse(b *testing.B) {
	ua := knownAgents[1].ua
	Parse(ua)
	b.ReportAllocs()
	for b.Loop() {
		sink = Parse(ua)
	}
}

// BenchmarkLookupHitSerial is BenchmarkLookupHit on one goroutine: the
// cost one request pays.
func BenchmarkLookupHitSerial(b *testing.B) {
	c := New(0)
	ua := []byte(knownAgents[1].ua)
	c.Lookup(ua)
	b.ReportAllocs()
	for b.Loop() {
		sink = c.Lookup(ua)
	}
}
