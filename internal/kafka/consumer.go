package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/marquee-proxy/marquee/internal/background"
	msync "github.com/marquee-proxy/marquee/sync"
)

// Options configures a Consumer.
type Options struct {
	// Brokers are seed brokers, host:port. Required.
	Brokers []string
	// Topic holds the events. Required.
	Topic string
	// Group is the consumer group. Zero means "marquee".
	Group string
	// Store receives the events. Required.
	Store *msync.Store
	// MaxPoll bounds the records applied per transaction. Zero means 1000.
	MaxPoll int
	// Logger receives failures. Nil discards.
	Logger *slog.Logger
	// Registry receives the consumer's metrics. Nil: not registered.
	Registry prometheus.Registerer
	// ClientOpts are extra franz-go options, e.g. for tests.
	ClientOpts []kgo.Opt
}

// Consumer applies an events topic to the store. Run it once; Close
// stops it.
type Consumer struct {
	cl      *kgo.Client
	store   *msync.Store
	maxPoll int
	log     *slog.Logger
	once    sync.Once
	// decode and applyEvents are msync.DecodeEvent and the store's
	// ApplyEvents; tests replace them to make them panic.
	decode      func([]byte) (msync.Event, *msync.FieldError)
	applyEvents func([]msync.Event) []msync.EventResult
	// polled runs after each poll that returned records; tests make it
	// panic outside the guarded steps.
	polled func()
	// inFlight is, per partition, the offset of the first record of the
	// poll being handled, until its offsets are committed. A loop started
	// again after a panic rewinds to it: the client's fetch position is
	// past those records, and committing what it fetches next would skip
	// them. Only the loop's goroutine uses it.
	inFlight map[string]map[int32]kgo.EpochOffset

	applied, duplicates, rejected, failures prometheus.Counter
}

// New connects a consumer; it reads nothing until Run.
func New(opts Options) (*Consumer, error) {
	if len(opts.Brokers) == 0 || opts.Topic == "" || opts.Store == nil {
		return nil, errors.New("kafka: brokers, topic and store are required")
	}
	group := opts.Group
	if group == "" {
		group = "marquee"
	}
	kopts := append([]kgo.Opt{
		kgo.SeedBrokers(opts.Brokers...),
		kgo.ConsumeTopics(opts.Topic),
		kgo.ConsumerGroup(group),
		kgo.DisableAutoCommit(),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
	}, opts.ClientOpts...)
	cl, err := kgo.NewClient(kopts...)
	if err != nil {
		return nil, fmt.Errorf("kafka: %w", err)
	}
	c := &Consumer{
		cl: cl, store: opts.Store, maxPoll: opts.MaxPoll, log: opts.Logger,
		decode: msync.DecodeEvent, applyEvents: opts.Store.ApplyEvents, polled: func() {},
	}
	if c.maxPoll <= 0 {
		c.maxPoll = 1000
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	counter := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Namespace: "marquee", Subsystem: "kafka", Name: name, Help: help})
	}
	c.applied = counter("events_applied_total", "Events from the topic applied to profiles.")
	c.duplicates = counter("events_duplicate_total", "Events from the topic already applied.")
	c.rejected = counter("events_rejected_total", "Records of the topic that are not valid events, or whose decoding or applying panicked; skipped.")
	c.failures = counter("store_failures_total", "Polls the store failed to apply; retried before committing.")
	if opts.Registry != nil {
		for _, m := range []prometheus.Collector{c.applied, c.duplicates, c.rejected, c.failures} {
			if err := opts.Registry.Register(m); err != nil {
				cl.Close()
				return nil, err
			}
		}
	}
	return c, nil
}

// Run polls, applies and commits until ctx ends or the client is closed.
// A poll whose events the store fails to apply is retried, with backoff,
// and its offsets are not committed until it succeeds. A record whose
// decoding or applying panics is skipped (logged, and counted as rejected
// and in marquee_background_panics_total), and Run goes on with the
// records after it; a panic anywhere else starts the loop again after a
// backoff, from the first record of the poll it was handling.
func (c *Consumer) Run(ctx context.Context) error {
	background.Run(c.log, "kafka.consumer", ctx.Done(), func() {
		if c.inFlight != nil {
			// The poll that panicked was not committed: read it again.
			c.cl.SetOffsets(c.inFlight)
			c.inFlight = nil
		}
		c.consume(ctx)
	})
	return nil
}

// firstOffsets returns, per partition, the offset of the first of recs.
func firstOffsets(recs []*kgo.Record) map[string]map[int32]kgo.EpochOffset {
	out := make(map[string]map[int32]kgo.EpochOffset)
	for _, r := range recs {
		parts := out[r.Topic]
		if parts == nil {
			parts = make(map[int32]kgo.EpochOffset)
			out[r.Topic] = parts
		}
		if _, ok := parts[r.Partition]; !ok {
			parts[r.Partition] = kgo.EpochOffset{Epoch: r.LeaderEpoch, Offset: r.Offset}
		}
	}
	return out
}

// consume is Run's loop; it returns when ctx ends or the client is closed.
func (c *Consumer) consume(ctx context.Context) {
	for {
		fetches := c.cl.PollRecords(ctx, c.maxPoll)
		if fetches.IsClientClosed() || ctx.Err() != nil {
			return
		}
		fetches.EachError(func(topic string, p int32, err error) {
			c.log.Warn("kafka: fetch failed", "topic", topic, "partition", p, "err", err)
		})
		recs := fetches.Records()
		if len(recs) == 0 {
			continue
		}
		c.inFlight = firstOffsets(recs)
		c.polled()
		evs := make([]msync.Event, 0, len(recs))
		for _, r := range recs {
			var ev msync.Event
			var ferr *msync.FieldError
			if background.Guard(c.log, "kafka.decode", func() { ev, ferr = c.decode(r.Value) }) {
				c.rejected.Inc()
				c.log.Warn("kafka: record skipped: decoding it panicked", "partition", r.Partition, "offset", r.Offset)
				continue
			}
			if ferr != nil {
				c.rejected.Inc()
				c.log.Debug("kafka: record is not an event", "partition", r.Partition, "offset", r.Offset, "err", ferr)
				continue
			}
			evs = append(evs, ev)
		}
		if err := c.apply(ctx, evs); err != nil {
			return // ctx ended while retrying; nothing committed
		}
		if err := c.cl.CommitRecords(ctx, recs...); err != nil && ctx.Err() == nil {
			c.log.Warn("kafka: commit failed; the events may be delivered again (and deduplicated)", "err", err)
		}
		c.inFlight = nil
	}
}

// apply stores evs, retrying store failures until they succeed or ctx
// ends.
func (c *Consumer) apply(ctx context.Context, evs []msync.Event) error {
	backoff := 50 * time.Millisecond
	for {
		failed := false
		for _, r := range c.applyBatch(evs) {
			switch r.Status {
			case msync.EventAccepted:
				c.applied.Inc()
			case msync.EventDuplicate:
				c.duplicates.Inc()
			case msync.EventRejected:
				c.rejected.Inc()
			case msync.EventFailed:
				failed = true
			}
		}
		if !failed {
			return nil
		}
		c.failures.Inc()
		c.log.Warn("kafka: store failed to apply a poll; retrying", "events", len(evs))
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// errPanicked marks an event skipped because applying it panicked.
var errPanicked = errors.New("kafka: applying the event panicked")

// applyBatch applies evs in one batch (on copies: the store normalises
// them in place). When the batch panics, its events are applied one at a
// time, so that only the ones that panic alone are lost: those are
// rejected with errPanicked. An event the batch applied before panicking
// is then a duplicate.
func (c *Consumer) applyBatch(evs []msync.Event) []msync.EventResult {
	var res []msync.EventResult
	batch := append([]msync.Event(nil), evs...)
	if !background.Guard(c.log, "kafka.apply", func() { res = c.applyEvents(batch) }) {
		return res
	}
	res = make([]msync.EventResult, len(evs))
	for i := range evs {
		one := []msync.Event{evs[i]}
		if background.Guard(c.log, "kafka.apply", func() { res[i] = c.applyEvents(one)[0] }) {
			res[i] = msync.EventResult{Status: msync.EventRejected, Err: errPanicked}
			c.log.Warn("kafka: event skipped: applying it panicked", "id", evs[i].ID)
		}
	}
	return res
}

// Close leaves the group and closes the client. It is safe to call more
// than once.
func (c *Consumer) Close() { c.once.Do(c.cl.Close) }
