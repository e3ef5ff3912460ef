package kafka

import (
	"bytes"
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/marquee-proxy/marquee/internal/background"
	msync "github.com/marquee-proxy/marquee/sync"
)

// A record whose decoding or applying panics is skipped: the consumer
// goes on with the records after it, in the same poll and later ones,
// commits past it, and the panic is counted.
func TestPanickingRecordIsSkipped(t *testing.T) {
	poison := `{"id":"poison","type":"view","visitor":"boom","category":"electronics"}`
	tests := []struct {
		name string
		// setup makes handling the poison record panic.
		setup    func(c *Consumer, st *msync.Store)
		loop     string  // the name the panics are counted under
		rejected float64 // the poison record counted as rejected
	}{
		{
			name: "decode",
			setup: func(c *Consumer, _ *msync.Store) {
				c.decode = func(raw []byte) (msync.Event, *msync.FieldError) {
					if bytes.Contains(raw, []byte("poison")) {
						panic("decoder bug")
					}
					return msync.DecodeEvent(raw)
				}
			},
			loop: "kafka.decode", rejected: 1,
		},
		{
			name: "store",
			setup: func(c *Consumer, st *msync.Store) {
				c.applyEvents = func(evs []msync.Event) []msync.EventResult {
					for _, ev := range evs {
						if ev.ID == "poison" {
							panic("store bug")
						}
					}
					return st.ApplyEvents(evs)
				}
			},
			loop: "kafka.apply", rejected: 1,
		},
		{
			// The store's change hook (the cluster's broadcast in
			// production) panics after the batch is committed.
			name: "change hook",
			setup: func(_ *Consumer, st *msync.Store) {
				st.SetOnChange(func(ch msync.Change) {
					if ch.ID == "boom" {
						panic("hook bug")
					}
				})
			},
			loop: "kafka.apply", rejected: 0,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addrs, st := newTopic(t)
			view := func(i int) string {
				return fmt.Sprintf(`{"id":"k%d","type":"view","visitor":"v1","category":"electronics"}`, i)
			}
			produce(t, addrs, "events", view(0), view(1), poison, view(2), view(3))

			c, err := New(Options{Brokers: addrs, Topic: "events", Group: "g", Store: st})
			if err != nil {
				t.Fatal(err)
			}
			tt.setup(c, st)
			panics := background.Collector().(*prometheus.CounterVec).WithLabelValues(tt.loop)
			before := testutil.ToFloat64(panics)
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { c.Run(ctx); close(done) }()
			defer func() { cancel(); c.Close(); <-done }()

			count := func() int32 { return electronicsViews(st) }
			waitFor(t, "the four views around the poison record", func() bool { return count() == 4 })
			waitFor(t, "commit past the poison record", func() bool {
				o := c.cl.CommittedOffsets()["events"]
				return o != nil && o[0].Offset >= 5
			})
			produce(t, addrs, "events", view(4))
			waitFor(t, "a later view", func() bool { return count() == 5 })
			if n := testutil.ToFloat64(panics) - before; n < 1 {
				t.Errorf("%s panics counted: %v, want at least 1", tt.loop, n)
			}
			if r := testutil.ToFloat64(c.rejected); r != tt.rejected {
				t.Errorf("rejected: %v, want %v", r, tt.rejected)
			}
		})
	}
}

// A panic outside the guarded steps, after a poll and before its events
// are stored, starts the loop again from that poll's first record: none of
// its records is skipped, although the client had already fetched them.
func TestPanicAfterPollReplaysThePoll(t *testing.T) {
	addrs, st := newTopic(t)
	view := func(i int) string {
		return fmt.Sprintf(`{"id":"r%d","type":"view","visitor":"v1","category":"electronics"}`, i)
	}
	produce(t, addrs, "events", view(0), view(1), view(2))
	c, err := New(Options{Brokers: addrs, Topic: "events", Group: "g", Store: st})
	if err != nil {
		t.Fatal(err)
	}
	var polls atomic.Int32
	c.polled = func() {
		if polls.Add(1) == 1 {
			panic("bug between poll and apply")
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { c.Run(ctx); close(done) }()
	defer func() { cancel(); c.Close(); <-done }()

	count := func() int32 { return electronicsViews(st) }
	produce(t, addrs, "events", view(3))
	waitFor(t, "every view, the first poll's included", func() bool { return count() == 4 })
	if polls.Load() < 2 {
		t.Errorf("polls: %d, want the panicking one and at least one more", polls.Load())
	}
}
