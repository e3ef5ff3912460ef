package background

import (
	"bytes"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// syncBuffer is a log sink safe for the goroutines Run and Go start.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func testLogger() (*slog.Logger, *syncBuffer) {
	buf := &syncBuffer{}
	return slog.New(slog.NewJSONHandler(buf, nil)), buf
}

// panicsOf reads the counter for name through Collector, as a registry
// scraping it would. The counter is the process's: tests compare it
// before and after, so that -count runs add up.
func panicsOf(t *testing.T, name string) float64 {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(Collector()); err != nil {
		t.Fatal(err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "marquee_background_panics_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "loop" && l.GetValue() == name {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

func TestGuard(t *testing.T) {
	tests := []struct {
		name     string
		fn       func()
		panicked bool
		logged   string // in the log line when panicked
	}{
		{name: "returns", fn: func() {}},
		{name: "panics with a string", fn: func() { panic("boom") }, panicked: true, logged: "boom"},
		{name: "panics with an error", fn: func() { panic(errors.New("bad input")) }, panicked: true, logged: "bad input"},
		{name: "panics with nil", fn: func() { panic(nil) }, panicked: true, logged: "panic called with nil"},
		{name: "runtime error", fn: func() { _ = strings.Split("a", ",")[1] }, panicked: true, logged: "index out of range"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			log, buf := testLogger()
			name := "test.guard." + tt.name
			ran := false
			before := panicsOf(t, name)
			got := Guard(log, name, func() { ran = true; tt.fn() })
			if !ran || got != tt.panicked {
				t.Fatalf("ran %v, panicked %v; want ran, panicked %v", ran, got, tt.panicked)
			}
			want := 0.0
			if tt.panicked {
				want = 1
			}
			if n := panicsOf(t, name) - before; n != want {
				t.Errorf("counter for %q is %v, want %v", name, n, want)
			}
			lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
			if !tt.panicked {
				if buf.String() != "" {
					t.Errorf("logged %q without a panic", buf.String())
				}
				return
			}
			if len(lines) != 1 {
				t.Fatalf("logged %d lines, want 1: %s", len(lines), buf.String())
			}
			for _, s := range []string{`"level":"ERROR"`, `"loop":"` + name + `"`, tt.logged, "background_test.go"} {
				if !strings.Contains(lines[0], s) {
					t.Errorf("log line lacks %s: %s", s, lines[0])
				}
			}
		})
	}
}

func TestGuardDoesNotAllocate(t *testing.T) {
	log, _ := testLogger()
	n := 0
	if a := testing.AllocsPerRun(100, func() { Guard(log, "test.allocs", func() { n++ }) }); a != 0 {
		t.Errorf("Guard allocates %v times per call", a)
	}
}

// A loop that panics on some items is started again and goes on with the
// items after them; each panic is counted under its name.
func TestRunRestartsAndKeepsWorking(t *testing.T) {
	log, buf := testLogger()
	const name = "test.run.restart"
	items := make(chan int, 10)
	for i := range 10 {
		items <- i
	}
	close(items)
	var done []int
	starts := 0
	before := panicsOf(t, name)
	Run(log, name, nil, func() {
		starts++
		for i := range items {
			if i == 2 || i == 5 {
				panic("bad item")
			}
			done = append(done, i)
		}
	})
	if want := []int{0, 1, 3, 4, 6, 7, 8, 9}; !slices.Equal(done, want) {
		t.Errorf("did %v, want %v", done, want)
	}
	if starts != 3 {
		t.Errorf("started %d times, want 3", starts)
	}
	if n := panicsOf(t, name) - before; n != 2 {
		t.Errorf("counter is %v, want 2", n)
	}
	if n := strings.Count(buf.String(), "\n"); n != 2 {
		t.Errorf("logged %d lines, want one per panic: %s", n, buf.String())
	}
}

func TestRun(t *testing.T) {
	tests := []struct {
		name string
		// panics is how many times loop panics before it returns.
		panics int
		// stopAfter closes stop after that many panics; 0: never.
		stopAfter int
		// starts and counted are how often loop is started and how
		// many panics are counted.
		starts, counted int
	}{
		{name: "returns", panics: 0, starts: 1, counted: 0},
		{name: "panics once", panics: 1, starts: 2, counted: 1},
		{name: "panics three times", panics: 3, starts: 4, counted: 3},
		{name: "stopped while waiting", panics: 100, stopAfter: 2, starts: 2, counted: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			log, _ := testLogger()
			name := "test.run." + tt.name
			stop := make(chan struct{})
			var starts []time.Time
			begin := time.Now()
			before := panicsOf(t, name)
			Run(log, name, stop, func() {
				starts = append(starts, time.Now())
				if len(starts) <= tt.panics {
					if len(starts) == tt.stopAfter {
						close(stop)
					}
					panic("again")
				}
			})
			if len(starts) != tt.starts {
				t.Errorf("started %d times, want %d", len(starts), tt.starts)
			}
			if n := panicsOf(t, name) - before; n != float64(tt.counted) {
				t.Errorf("counter is %v, want %d", n, tt.counted)
			}
			// Each restart waits at least the doubled backoff.
			for i := 1; i < len(starts); i++ {
				if gap, want := starts[i].Sub(starts[i-1]), minBackoff<<(i-1); gap < want {
					t.Errorf("restart %d after %v, want at least %v", i, gap, want)
				}
			}
			if tt.stopAfter > 0 {
				if el := time.Since(begin); el > time.Second {
					t.Errorf("stopped Run returned after %v", el)
				}
			}
		})
	}
}
