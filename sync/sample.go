package sync

import (
	"container/heap"
	"hash/maphash"
)

// SampleIDs returns a uniform random sample of at most k stored profile
// ids, without replacement, and the number of profiles stored. It keeps
// the k ids of smallest hash under a seed drawn per call (a bottom-k
// sample), so that one pass over the keys, without decoding a profile,
// does it in O(n log k) time and O(k) memory. Like Len it reads in
// chunks: profiles written meanwhile may or may not be seen. The ids come
// in no particular order.
func (s *Store) SampleIDs(k int) (ids []string, total int, err error) {
	if k <= 0 {
		n, err := s.Len()
		return nil, n, err
	}
	seed := maphash.MakeSeed()
	h := make(bottomK, 0, k)
	err = s.ascendPrefix(keyPrefix, func(key, _ string) {
		total++
		id := key[len(keyPrefix):]
		x := maphash.String(seed, id)
		switch {
		case len(h) < k:
			// The key's string belongs to the store's tree, which never
			// changes it: kept as is, no copy.
			heap.Push(&h, hashed{x, id})
		case x < h[0].hash:
			h[0] = hashed{x, id}
			heap.Fix(&h, 0)
		}
	})
	if err != nil {
		return nil, 0, err
	}
	ids = make([]string, len(h))
	for i, e := range h {
		ids[i] = e.id
	}
	return ids, total, nil
}

// hashed is an id and its hash under a sample's seed.
type hashed struct {
	hash uint64
	id   string
}

// bottomK is a max-heap by hash: its top is the largest of the k smallest
// hashes seen, the one a smaller hash replaces.
type bottomK []hashed

func (h bottomK) Len() int           { return len(h) }
func (h bottomK) Less(i, j int) bool { return h[i].hash > h[j].hash }
func (h bottomK) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *bottomK) Push(x any)        { *h = append(*h, x.(hashed)) }
func (h *bottomK) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
