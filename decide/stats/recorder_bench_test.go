package stats

import (
	"strconv"
	stdsync "sync"
	"sync/atomic"
	"testing"

	"github.com/axiomhq/hyperloglog"
)

// visitorIDs returns n distinct ids shaped like visitor cookies.
func visitorIDs(n int) [][]byte {
	ids := make([][]byte, n)
	for i := range ids {
		ids[i] = []byte("vid-" + strconv.Itoa(i*7919) + "-0123456789abcdef")
	}
	return ids
}

func benchRecorder() *Recorder {
	r := NewRecorder(Config{})
	for c := range 20 {
		r.Register("campaign-"+strconv.Itoa(c), abSpecs)
	}
	return r
}

func BenchmarkExpose(b *testing.B) {
	r, ids := benchRecorder(), visitorIDs(1024)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		r.Expose("campaign-7", "treatment", ids[i&1023])
		i++
	}
}

func BenchmarkConvert(b *testing.B) {
	r, ids := benchRecorder(), visitorIDs(1024)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		r.Convert("campaign-7", "treatment", ids[i&1023])
		i++
	}
}

// BenchmarkExposeParallel is the server case: every request goroutine
// records the same hot variant, so its mutex is contended.
func BenchmarkExposeParallel(b *testing.B) {
	r, ids := benchRecorder(), visitorIDs(1024)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			r.Expose("campaign-7", "treatment", ids[i&1023])
			i++
		}
	})
}

// BenchmarkBaselineCounterAndSketch is the floor Expose is measured
// against: an atomic add and a locked sketch insert, with no lookup.
func BenchmarkBaselineCounterAndSketch(b *testing.B) {
	var n atomic.Uint64
	var mu stdsync.Mutex
	sk, ids := hyperloglog.NewNoSparse(), visitorIDs(1024)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		n.Add(1)
		mu.Lock()
		sk.Insert(ids[i&1023])
		mu.Unlock()
		i++
	}
}

func BenchmarkState(b *testing.B) {
	r, ids := benchRecorder(), visitorIDs(1024)
	for _, id := range ids {
		r.Expose("campaign-7", "treatment", id)
		r.Convert("campaign-7", "control", id)
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = r.State("n")
	}
}

func BenchmarkMergeReport(b *testing.B) {
	ids := visitorIDs(1024)
	var states []NodeState
	for n := range 5 {
		r := benchRecorder()
		for _, id := range ids {
			r.Expose("campaign-7", "treatment", id)
			r.Expose("campaign-7", "control", id)
			r.Convert("campaign-7", "control", id)
		}
		states = append(states, r.State("node-"+strconv.Itoa(n)))
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = Merge(states...)
	}
}
