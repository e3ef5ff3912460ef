package expiring

import (
	"testing"
	"time"
)

func TestStore(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		max  int
		puts int           // values 0..puts-1, put a second apart
		ttl  time.Duration // each value's lifetime
		at   time.Duration // Get time after t0
		want []bool        // whether value i is still there
	}{
		{"all kept", 3, 3, time.Hour, 3 * time.Second, []bool{true, true, true}},
		{"oldest dropped when full", 2, 4, time.Hour, 4 * time.Second, []bool{false, false, true, true}},
		{"expired", 3, 3, 10 * time.Second, 10*time.Second + time.Millisecond, []bool{false, true, true}},
		{"all expired", 3, 2, time.Second, time.Hour, []bool{false, false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New[int](tt.max)
			var ids []string
			for i := range tt.puts {
				now := t0.Add(time.Duration(i) * time.Second)
				id := s.Put(i, now.Add(tt.ttl), now)
				if len(id) != IDLen {
					t.Fatalf("id %q: length %d, want %d", id, len(id), IDLen)
				}
				ids = append(ids, id)
			}
			for i, id := range ids {
				v, ok := s.Get(id, t0.Add(tt.at))
				if ok != tt.want[i] || (ok && v != i) {
					t.Errorf("value %d: got %d, %v, want %v", i, v, ok, tt.want[i])
				}
			}
			if s.Len() > tt.max {
				t.Errorf("holds %d values, more than %d", s.Len(), tt.max)
			}
		})
	}
}

func TestStoreUnknownIDs(t *testing.T) {
	s := New[string](4)
	now := time.Now()
	id := s.Put("x", now.Add(time.Minute), now)
	for _, bad := range []string{"", "x", id[:IDLen-1], id + "A", "AAAAAAAAAAAAAAAAAAAAAA"} {
		if _, ok := s.Get(bad, now); ok {
			t.Errorf("Get(%q) found a value", bad)
		}
	}
	if id2 := s.Put("y", now.Add(time.Minute), now); id2 == id {
		t.Error("two puts gave the same id")
	}
}
