// Package background owns what happens when one of marquee's long-running
// goroutines panics: gossip and anti-entropy loops, the Kafka consumer,
// anything that runs beside the request path. Unrecovered, such a panic
// ends the whole process, proxy included, over a bug in a side task. Here
// it is recovered, logged once at Error with its stack, and counted in
// marquee_background_panics_total under the goroutine's name; then the
// unit of work it was doing is abandoned (Guard) or the loop is started
// again after a backoff (Run).
//
// Guard what is done per item (one message, one job), so that one bad item
// costs only itself; Run the loops around them, so that a panic
// outside any item still leaves the loop running.
package background

import (
	"log/slog"
	"runtime/debug"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// panics counts recovered panics by goroutine name.
var panics = prometheus.NewCounterVec(prometheus.CounterOpts{
	Name: "marquee_background_panics_total",
	Help: "Panics recovered in background goroutines, by goroutine; each was logged with its stack.",
}, []string{"loop"})

// Collector returns the panic counter for the node's metrics registry. It
// is one counter for the process, not one per owner, because a panic is
// recovered wherever it happens and its goroutine's name already says
// where.
func Collector() prometheus.Collector { return panics }

// Guard runs fn, one unit of work, and recovers a panic in it: the panic is
// logged at Error with name and the stack, counted under name, and Guard
// reports it instead of unwinding further, so the caller can drop that unit
// and go on with the next. log nil means slog.Default(). Guard does not
// allocate when fn does not panic.
func Guard(log *slog.Logger, name string, fn func()) (panicked bool) {
	defer func() {
		if v := recover(); v != nil {
			panicked = true
			report(log, name, v)
		}
	}()
	fn()
	return false
}

// report logs and counts a recovered panic. It runs in the deferred call,
// so the stack still shows where the panic happened.
func report(log *slog.Logger, name string, v any) {
	if log == nil {
		log = slog.Default()
	}
	panics.WithLabelValues(name).Inc()
	log.Error("background: recovered a panic", "loop", name, "panic", v, "stack", string(debug.Stack()))
}

// Restart backoff: the delay after a panic doubles from minBackoff up to
// maxBackoff, so a loop that panics at once every time costs a log line
// every few seconds rather than a core; it starts over from minBackoff
// when the loop had run at least maxBackoff before panicking.
const (
	minBackoff = 100 * time.Millisecond
	maxBackoff = 5 * time.Second
)

// Run runs loop until it returns without panicking. After a panic, which
// is recovered as by Guard, loop is started again after a backoff (100 ms,
// doubling to 5 s); loop must therefore be able to start over, holding its
// state in what it closes over only where a restart may find it. A closed
// stop (nil: never) ends the wait and Run returns without starting loop
// again; Run does not interrupt a loop that is running, which must watch
// stop itself.
//
// Run blocks: callers that wait for their goroutines run it in their own,
// e.g. under a sync.WaitGroup's Go.
func Run(log *slog.Logger, name string, stop <-chan struct{}, loop func()) {
	delay := minBackoff
	for {
		start := time.Now()
		if !Guard(log, name, loop) {
			return
		}
		if time.Since(start) >= maxBackoff {
			delay = minBackoff
		}
		t := time.NewTimer(delay)
		select {
		case <-stop:
			t.Stop()
			return
		case <-t.C:
		}
		delay = min(2*delay, maxBackoff)
	}
}
