package sync

import (
	"errors"
	"fmt"
	stdsync "sync"
	"testing"
	"time"

	"github.com/marquee-proxy/marquee/profile"
)

func openTest(t *testing.T, dir string) *Store {
	t.Helper()
	s, err := Open(Options{Dir: dir, Node: "n1"})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestStoreUpdateGetDelete(t *testing.T) {
	s := openTest(t, "")
	if p, err := s.Get("v1"); p != nil || err != nil {
		t.Fatalf("Get of a missing id: got %v, %v; want nil, nil", p, err)
	}
	p, err := s.Update("v1", func(p *profile.Profile) error {
		p.Attrs = map[string]any{"tier": "gold", "name": "Ada"}
		return nil
	})
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	if p.Version == 0 || p.Node != "n1" || p.ID != "v1" {
		t.Errorf("written profile: version %d, node %q, id %q", p.Version, p.Node, p.ID)
	}
	got, err := s.Get("v1")
	if err != nil || got == nil || got.Attrs["tier"] != "gold" {
		t.Fatalf("Get after Update: got %+v, %v", got, err)
	}
	if g2, _ := s.GetBytes([]byte("v1")); g2 != got {
		t.Error("GetBytes: want the same cached snapshot as Get")
	}

	// A failed update changes nothing.
	boom := errors.New("boom")
	if _, err := s.Update("v1", func(p *profile.Profile) error { p.Attrs["tier"] = "x"; return boom }); !errors.Is(err, boom) {
		t.Errorf("Update error: got %v, want %v", err, boom)
	}
	if got, _ := s.Get("v1"); got.Attrs["tier"] != "gold" {
		t.Errorf("failed update leaked: tier %v", got.Attrs["tier"])
	}
	// The snapshot handed out earlier is not changed by later writes.
	if _, err := s.Update("v1", func(p *profile.Profile) error { p.Attrs["tier"] = "silver"; return nil }); err != nil {
		t.Fatal(err)
	}
	if got.Attrs["tier"] != "gold" {
		t.Errorf("old snapshot changed under its reader: %v", got.Attrs["tier"])
	}

	if err := s.Delete("v1"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if p, _ := s.Get("v1"); p != nil {
		t.Errorf("Get after Delete: got %+v", p)
	}
	if err := s.Delete("never-was"); err != nil {
		t.Errorf("Delete of a missing id: %v", err)
	}
}

func TestStoreInvalidIDs(t *testing.T) {
	s := openTest(t, "")
	for _, id := range []string{"", string(make([]byte, MaxIDLen+1))} {
		if _, err := s.Update(id, func(*profile.Profile) error { return nil }); !errors.Is(err, ErrInvalidID) {
			t.Errorf("Update(%d bytes): got %v, want ErrInvalidID", len(id), err)
		}
		if err := s.Delete(id); !errors.Is(err, ErrInvalidID) {
			t.Errorf("Delete(%d bytes): got %v, want ErrInvalidID", len(id), err)
		}
	}
}

func TestStorePersists(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	want, err := s.Update("v1", func(p *profile.Profile) error {
		p.Attrs = map[string]any{"name": "Ada", "age": 36.0}
		p.Scores = map[string]float64{"propensity": 0.9}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	s2 := openTest(t, dir)
	got, err := s2.Get("v1")
	if err != nil || got == nil {
		t.Fatalf("Get after reopen: %v, %v", got, err)
	}
	if got.Attrs["name"] != "Ada" || got.Attrs["age"] != 36.0 || got.Scores["propensity"] != 0.9 || got.Version != want.Version {
		t.Errorf("after reopen: got %+v, want %+v", got, want)
	}
	if n, _ := s2.Len(); n != 1 {
		t.Errorf("Len: got %d, want 1", n)
	}
}

func TestStoreConcurrentUpdates(t *testing.T) {
	s := openTest(t, "")
	const workers, each = 8, 50
	var wg stdsync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				if _, err := s.Update("shared", func(p *profile.Profile) error { p.Sessions++; return nil }); err != nil {
					t.Error(err)
					return
				}
				if _, err := s.Get(fmt.Sprintf("w%d-%d", w, i)); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	p, _ := s.Get("shared")
	if p.Sessions != workers*each {
		t.Errorf("lost updates: got %d sessions, want %d", p.Sessions, workers*each)
	}
}

func TestClockMonotonic(t *testing.T) {
	fixed := time.Unix(1700000000, 0)
	c := NewClock(func() time.Time { return fixed })
	a, b := c.Now(), c.Now()
	if b <= a {
		t.Errorf("clock went backwards: %d then %d", a, b)
	}
	c.Observe(b + 1000)
	if n := c.Now(); n <= b+1000 {
		t.Errorf("Now after Observe: got %d, want > %d", n, b+1000)
	}
	if got := a.Time(); !got.Equal(fixed) {
		t.Errorf("Version.Time: got %v, want %v", got, fixed)
	}
}
