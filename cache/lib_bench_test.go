package cache

import (
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/dgraph-io/ristretto/v2"
	"github.com/maypok86/otter/v2"
)

// The store's library was chosen with these benchmarks: a hit is the
// request path's only use of the store, a set under eviction the miss
// path's (bench/RESULTS.md has the figures).
//
//	go test -run '^$' -bench 'BenchmarkLib' -benchmem ./cache

const (
	libEntries = 10000
	libValue   = 16 << 10 // a typical stored page, in weight
	libMax     = 64 << 20 // 4096 such entries: every set evicts
)

type libValueT struct {
	key  string
	size uint32
}

type libStore interface {
	get(k string) (*libValueT, bool)
	set(k string, v *libValueT)
}

type otterStore struct {
	c *otter.Cache[string, *libValueT]
}

func newOtterStore() libStore {
	return otterStore{otter.Must(&otter.Options[string, *libValueT]{
		MaximumWeight: libMax,
		Weigher:       func(_ string, v *libValueT) uint32 { return v.size },
	})}
}

func (s otterStore) get(k string) (*libValueT, bool) { return s.c.GetIfPresent(k) }
func (s otterStore) set(k string, v *libValueT)      { s.c.Set(k, v) }

type ristrettoStore struct {
	c *ristretto.Cache[string, *libValueT]
}

func newRistrettoStore() libStore {
	c, err := ristretto.NewCache(&ristretto.Config[string, *libValueT]{
		NumCounters: 10 * libMax / libValue,
		MaxCost:     libMax,
		BufferItems: 64,
	})
	if err != nil {
		panic(err)
	}
	return ristrettoStore{c}
}

func (s ristrettoStore) get(k string) (*libValueT, bool) { return s.c.Get(k) }
func (s ristrettoStore) set(k string, v *libValueT)      { s.c.Set(k, v, int64(v.size)) }

var libStores = []struct {
	name string
	make func() libStore
}{
	{"otter", newOtterStore},
	{"ristretto", newRistrettoStore},
}

func libKeys(n int) []string {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = "https://shop.example/p/" + strconv.Itoa(i) + "?color=red"
	}
	return keys
}

// BenchmarkLibGet is a hit on one of 1,000 cached pages, from every core.
func BenchmarkLibGet(b *testing.B) {
	keys := libKeys(1000)
	for _, st := range libStores {
		b.Run(st.name, func(b *testing.B) {
			s := st.make()
			for _, k := range keys {
				s.set(k, &libValueT{key: k, size: libValue})
			}
			if r, ok := s.(ristrettoStore); ok {
				r.c.Wait()
			}
			var seq atomic.Uint32
			var misses atomic.Int64
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				i := int(seq.Add(1)) * 7919
				for pb.Next() {
					i++
					if _, ok := s.get(keys[i%len(keys)]); !ok {
						misses.Add(1)
					}
				}
			})
			b.ReportMetric(float64(misses.Load())/float64(b.N), "misses/op")
		})
	}
}

// BenchmarkLibSetEvict sets distinct keys into a full store, so every set
// evicts, from every core.
func BenchmarkLibSetEvict(b *testing.B) {
	keys := libKeys(1 << 16)
	for _, st := range libStores {
		b.Run(st.name, func(b *testing.B) {
			s := st.make()
			var seq atomic.Uint32
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				i := int(seq.Add(1)) * 104729
				for pb.Next() {
					i++
					k := keys[i%len(keys)]
					s.set(k, &libValueT{key: k, size: libValue})
				}
			})
		})
	}
}
