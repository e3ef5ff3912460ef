package export

import (
	"context"
	"errors"
	"math/rand/v2"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/marquee-proxy/marquee/internal/background"
)

// maxRetryAfter caps how long a sink's Retry-After is honoured: a
// receiver asking for more is waited for this long, then tried again.
const maxRetryAfter = 10 * time.Minute

// output is one destination of records, driven by its sink's goroutine
// alone: its methods are never called concurrently.
type output interface {
	// policy says how the sink batches and backs off.
	policy() policy
	// send delivers records b.recs[from:], or a first part of them, and
	// returns how many it acknowledged. A nil error means it made
	// progress and send is called again for the rest; a *refusedError
	// says the records after the acknowledged ones will never be
	// accepted; any other error is retried after a backoff, a
	// *retryAfterError after the time it names. ctx ends when the
	// exporter's shutdown deadline passes. send must not retain b.
	send(ctx context.Context, b *batch, from int) (acked int, err error)
	// close releases the destination after the last send.
	close() error
}

// policy is how a sink batches and retries.
type policy struct {
	name string
	// wait is how long records are gathered after the first arrives;
	// batch is how many make the sink send at once.
	wait  time.Duration
	batch int
	// minBackoff is the first retry's delay, doubled per failed attempt
	// up to maxBackoff; each delay is drawn from its upper half.
	minBackoff, maxBackoff time.Duration
}

// refusedError is a sink's answer that n records will never be accepted
// (a webhook's 400): they are counted as failed and skipped.
type refusedError struct {
	n   int
	err error
}

func (e *refusedError) Error() string {
	return "refused " + strconv.Itoa(e.n) + " records: " + e.err.Error()
}
func (e *refusedError) Unwrap() error { return e.err }

// retryAfterError is a retryable failure whose sink said when to retry.
type retryAfterError struct {
	after time.Duration
	err   error
}

func (e *retryAfterError) Error() string {
	return e.err.Error() + " (retry after " + e.after.String() + ")"
}
func (e *retryAfterError) Unwrap() error { return e.err }

// errNoProgress stands for a send that returned neither progress nor an
// error, which would otherwise spin.
var errNoProgress = errors.New("export: sink acknowledged nothing")

// errPanic stands for a send that panicked; the panic is logged by
// background.Guard.
var errPanic = errors.New("export: sink panicked")

// sink is one output with its queue, counters and goroutine.
type sink struct {
	e   *Exporter
	out output
	pol policy
	q   *queue
	b   batch // the records being delivered; only the goroutine uses it

	records, dropped, failed, retries prometheus.Counter
	// undelivered counts records abandoned at the shutdown deadline.
	undelivered atomic.Uint64
}

func newSink(e *Exporter, out output, queueLen int) *sink {
	pol := out.policy()
	if pol.batch <= 0 || pol.batch > queueLen {
		pol.batch = queueLen
	}
	return &sink{
		e: e, out: out, pol: pol, q: newQueue(queueLen, pol.batch),
		records: e.m.records.WithLabelValues(pol.name),
		dropped: e.m.dropped.WithLabelValues(pol.name),
		failed:  e.m.failed.WithLabelValues(pol.name),
		retries: e.m.retries.WithLabelValues(pol.name),
	}
}

// run delivers batches until the exporter stops, then what is left.
func (s *sink) run() {
	background.Run(s.e.log, "export-"+s.pol.name, nil, s.loop)
}

func (s *sink) loop() {
	for {
		select {
		case <-s.q.wake:
		case <-s.e.stop:
			for s.q.len() > 0 && s.e.ctx.Err() == nil {
				s.flush()
			}
			if n := s.q.len(); n > 0 { // the deadline passed
				s.q.take(&s.b)
				s.abandon(0)
			}
			return
		}
		s.gather()
		s.flush()
	}
}

// gather waits, up to the policy's wait, for a batch to fill.
func (s *sink) gather() {
	if s.pol.wait <= 0 {
		return
	}
	t := time.NewTimer(s.pol.wait)
	defer t.Stop()
	for s.q.len() < s.pol.batch {
		select {
		case <-s.q.wake:
		case <-t.C:
			return
		case <-s.e.stop:
			return
		}
	}
}

// flush takes what is queued and delivers it.
func (s *sink) flush() {
	s.q.take(&s.b)
	s.deliver()
	s.q.done()
}

// deliver sends s.b until every record is acknowledged or refused, or
// the exporter's shutdown deadline passes.
func (s *sink) deliver() {
	b, ctx := &s.b, s.e.ctx
	n, from, attempt := len(b.recs), 0, 0
	for from < n {
		var acked int
		var err error
		if background.Guard(s.e.log, "export-"+s.pol.name, func() { acked, err = s.out.send(ctx, b, from) }) {
			acked, err = 0, errPanic
		}
		acked = min(max(acked, 0), n-from)
		from += acked
		s.records.Add(float64(acked))
		if err == nil && acked == 0 {
			err = errNoProgress
		}
		if err == nil {
			if attempt > 0 {
				s.e.log.Info("export: sink delivers again", "sink", s.pol.name, "failed_attempts", attempt)
			}
			attempt = 0
			continue
		}
		if rf, ok := errors.AsType[*refusedError](err); ok {
			k := min(max(rf.n, 1), n-from)
			s.failed.Add(float64(k))
			from += k
			s.e.log.Warn("export: sink refused records; they are dropped", "sink", s.pol.name, "records", k, "err", err)
			continue
		}
		if ctx.Err() != nil {
			break
		}
		if attempt == 0 {
			s.e.log.Warn("export: delivery failed; retrying with backoff", "sink", s.pol.name, "records", n-from, "err", err)
		}
		s.retries.Inc()
		if !s.sleep(s.backoff(attempt, err)) {
			break
		}
		attempt++
	}
	s.abandon(from)
}

// abandon counts the records of s.b from index from on as failed: the
// shutdown deadline passed before they were acknowledged.
func (s *sink) abandon(from int) {
	if k := len(s.b.recs) - from; k > 0 {
		s.failed.Add(float64(k))
		s.undelivered.Add(uint64(k))
		s.e.log.Warn("export: shutdown deadline passed; records not delivered", "sink", s.pol.name, "records", k)
	}
}

// backoff is the delay before retry attempt+1: the sink's Retry-After when
// it named one, else exponential from minBackoff to maxBackoff with
// jitter over the upper half, so that nodes that failed together do not
// retry together.
func (s *sink) backoff(attempt int, err error) time.Duration {
	if ra, ok := errors.AsType[*retryAfterError](err); ok && ra.after > 0 {
		return min(ra.after, maxRetryAfter)
	}
	d := s.pol.maxBackoff
	if attempt < 30 && s.pol.minBackoff<<attempt < d {
		d = s.pol.minBackoff << attempt
	}
	if d <= 1 {
		return d
	}
	return d/2 + rand.N(d/2)
}

// sleep waits d, or reports false when the shutdown deadline passes first.
func (s *sink) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-s.e.ctx.Done():
		return false
	}
}
