package boundedmap

import (
	"fmt"
	"sync"
	"testing"
)

func TestBoundAndLookups(t *testing.T) {
	m := NewString[int](shards * 4)
	for i := range 10000 {
		m.Put(fmt.Sprint(i), i)
	}
	if n := m.Len(); n > shards*4 {
		t.Errorf("holds %d entries, bound %d", n, shards*4)
	}
	m.Put("key", 42)
	if v, ok := m.Get("key"); !ok || v != 42 {
		t.Errorf("Get: %v %v", v, ok)
	}
	if v, ok := GetBytes(m, []byte("key")); !ok || v != 42 {
		t.Errorf("GetBytes: %v %v", v, ok)
	}
	if m.PutIfAbsent("key", 7) {
		t.Error("PutIfAbsent replaced a present key")
	}
	m.Delete("key")
	if _, ok := m.Get("key"); ok {
		t.Error("Delete left the key")
	}
	if !m.PutIfAbsent("key", 7) {
		t.Error("PutIfAbsent refused an absent key")
	}
}

func TestComparableKeys(t *testing.T) {
	type key struct {
		a int
		p *int
	}
	m := New[key, string](128)
	x := 1
	m.Put(key{1, &x}, "one")
	if v, _ := m.Get(key{1, &x}); v != "one" {
		t.Errorf("got %q", v)
	}
	if _, ok := m.Get(key{1, new(int)}); ok {
		t.Error("a different pointer matched")
	}
}

func TestConcurrent(t *testing.T) {
	m := NewString[int](1000)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 2000 {
				k := fmt.Sprint(w, i%300)
				m.Put(k, i)
				m.Get(k)
				GetBytes(m, []byte(k))
			}
		}()
	}
	wg.Wait()
}

func TestGetBytesAllocs(t *testing.T) {
	m := NewString[int](100)
	m.Put("visitor", 1)
	k := []byte("visitor")
	if n := testing.AllocsPerRun(100, func() { GetBytes(m, k) }); n != 0 {
		t.Errorf("GetBytes allocates %v times", n)
	}
}

func TestSizedBound(t *testing.T) {
	const maxBytes = shards * 1000
	m := NewSized[int, []byte](1<<20, maxBytes, func(b []byte) int64 { return int64(len(b)) })
	for i := range 10000 {
		m.Put(i, make([]byte, 100+i%400))
	}
	if n := m.Bytes(); n > maxBytes || n < maxBytes/4 {
		t.Errorf("holds %d bytes, bound %d", n, maxBytes)
	}
	var sum int64
	for i := range m.shards {
		for _, v := range m.shards[i].m {
			sum += int64(len(v))
		}
	}
	if sum != m.Bytes() {
		t.Errorf("Bytes %d, entries weigh %d", m.Bytes(), sum)
	}
	m.Put(-1, make([]byte, maxBytes)) // heavier than a shard's share
	if _, ok := m.Get(-1); ok {
		t.Error("stored a value over a shard's share")
	}
	m.Put(-2, make([]byte, 10))
	m.Put(-2, make([]byte, 20))
	m.Delete(-2)
	sum = 0
	for i := range m.shards {
		for _, v := range m.shards[i].m {
			sum += int64(len(v))
		}
	}
	if sum != m.Bytes() {
		t.Errorf("after replace and delete: Bytes %d, entries weigh %d", m.Bytes(), sum)
	}
}
