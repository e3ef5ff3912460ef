package bench

import (
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestProcessCPUOwnProcess(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("/proc is Linux only")
	}
	before, err := ProcessCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	// Burn CPU until the reading moves by a few ticks (bounded).
	deadline := time.Now().Add(5 * time.Second)
	x := 0
	var after CPUTime
	for time.Now().Before(deadline) {
		for i := range 1_000_000 {
			x += i
		}
		if after, err = ProcessCPU(os.Getpid()); err != nil {
			t.Fatal(err)
		}
		if after.User-before.User >= 5*clockTick {
			break
		}
	}
	_ = x
	// Spinning is the process's own code: it shows as user time.
	if moved := after.Sub(before); moved.User < 5*clockTick || moved.Sys < 0 {
		t.Fatalf("CPU time moved %+v in 5 s of spinning", moved)
	}
	tree, err := TreeCPU(os.Getpid())
	if err != nil || tree.User < after.User || tree.Sys < after.Sys {
		t.Errorf("TreeCPU = %+v, %v; want at least %+v", tree, err, after)
	}
	if sys, err := SystemCPU(); err != nil || sys < after.Total() {
		t.Errorf("SystemCPU = %v, %v; want at least this process's %v", sys, err, after)
	}
	if _, err := ProcessCPU(1 << 30); err == nil {
		t.Error("no error for a process that does not exist")
	}
}

func TestStatFields(t *testing.T) {
	line := "42 (a b) c) R 1 42 42 0 -1 4194560 100 0 0 0 250 30 0 0 20 0 1 0 1000 0 0\n"
	f, err := statFields([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	if f[0] != "R" || f[14-3] != "250" || f[15-3] != "30" {
		t.Errorf("fields %q", f)
	}
	if _, err := statFields([]byte("42 (x")); err == nil {
		t.Error("no error for a malformed line")
	}
}

func TestParseMetrics(t *testing.T) {
	text := `# HELP go_memstats_mallocs_total Total number of heap objects allocated.
# TYPE go_memstats_mallocs_total counter
go_memstats_mallocs_total 1.234567e+06
marquee_proxy_requests_total{outcome="passthrough"} 10
marquee_proxy_requests_total{outcome="rewritten"} 90
`
	m, err := parseMetrics(strings.NewReader(text), Metrics{Outcomes: map[string]float64{}})
	if err != nil {
		t.Fatal(err)
	}
	if m.Mallocs != 1234567 || m.Outcomes["rewritten"] != 90 || m.Outcomes["passthrough"] != 10 {
		t.Errorf("got %+v", m)
	}
	if _, err := parseMetrics(strings.NewReader("x 1\n"), Metrics{Outcomes: map[string]float64{}}); err == nil {
		t.Error("no error without go_memstats_mallocs_total")
	}
}
