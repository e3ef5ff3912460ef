//go:build !race

package export

import (
	"context"
	"testing"
	"time"
)

// TestRecordAllocations fails when recording allocates once the queues
// have grown: SetSubject and Exposure run on every personalised page.
// The race detector allocates on its own, hence the build tag.
func TestRecordAllocations(t *testing.T) {
	for _, key := range [][]byte{nil, []byte("0123456789abcdef")} {
		e, err := New(Options{HashKey: key, Queue: 100000, File: &FileOptions{Dir: t.TempDir(), Wait: time.Hour}})
		if err != nil {
			t.Fatal(err)
		}
		q := e.sinks[0].q
		q.mu.Lock()
		q.buf, q.recs = make([]byte, 0, 8<<20), make([]rec, 0, 20000)
		q.mu.Unlock()
		var s Subject
		vid, cust, url := []byte("AbCdEfGhIjKlMnOpQrStUv"), []byte("cust-42"), []byte("/p/1?color=red")
		now := time.Now()
		e.SetSubject(&s, vid, cust, url, now) // grows s
		tests := []struct {
			name string
			f    func()
		}{
			{"SetSubject", func() { e.SetSubject(&s, vid, cust, url, now) }},
			{"Exposure", func() { e.Exposure(&s, "hero", "hero-test", "b") }},
			{"Conversion", func() { e.Conversion(&s, "hero", "hero-test", "b", 79.5) }},
		}
		for _, tt := range tests {
			if n := testing.AllocsPerRun(1000, tt.f); n != 0 {
				t.Errorf("hashed %v: %s: %v allocations per call, want 0", key != nil, tt.name, n)
			}
		}
		if err := e.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
}
