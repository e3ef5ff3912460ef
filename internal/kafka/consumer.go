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
	c := &Consumer{cl: cl, store: opts.Store, maxPoll: opts.MaxPoll, log: opts.Logger}
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
	c.rejected = counter("events_rejected_total", "Records of the topic that are not valid events; skipped.")
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
// and its offsets are not committed until it succeeds.
func (c *Consumer) Run(ctx context.Context) error {
	for {
		fetches := c.cl.PollRecords(ctx, c.maxPoll)
		if fetches.IsClientClosed() || ctx.Err() != nil {
			return nil
		}
		fetches.EachError(func(topic string, p int32, err error) {
			c.log.Warn("kafka: fetch failed", "topic", topic, "partition", p, "err", err)
		})
		recs := fetches.Records()
		if len(recs) == 0 {
			continue
		}
		evs := make([]msync.Event, 0, len(recs))
		for _, r := range recs {
			ev, ferr := msync.DecodeEvent(r.Value)
			if ferr != nil {
				c.rejected.Inc()
				c.log.Debug("kafka: record is not an event", "partition", r.Partition, "offset", r.Offset, "err", ferr)
				continue
			}
			evs = append(evs, ev)
		}
		if err := c.apply(ctx, evs); err != nil {
			return nil // ctx ended while retrying; nothing committed
		}
		if err := c.cl.CommitRecords(ctx, recs...); err != nil && ctx.Err() == nil {
			c.log.Warn("kafka: commit failed; the events may be delivered again (and deduplicated)", "err", err)
		}
	}
}

// apply stores evs, retrying store failures until they succeed or ctx
// ends.
func (c *Consumer) apply(ctx context.Context, evs []msync.Event) error {
	backoff := 50 * time.Millisecond
	for {
		batch := append([]msync.Event(nil), evs...)
		failed := false
		for _, r := range c.store.ApplyEvents(batch) {
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

// Close leaves the group and closes the client. It is safe to call more
// than once.
func (c *Consumer) Close() { c.once.Do(c.cl.Close) }
