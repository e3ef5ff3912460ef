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
