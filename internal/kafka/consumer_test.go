package kafka

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	msync "github.com/marquee-proxy/marquee/sync"
)

func produce(t *testing.T, addrs []string, topic string, values ...string) {
	t.Helper()
	p, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.DefaultProduceTopic(topic))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, v := range values {
		if err := p.ProduceSync(ctx, &kgo.Record{Value: []byte(v)}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
}

// waitFor polls cond every 10 ms for at most 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

// newTopic starts an in-process Kafka cluster with one "events" topic and
// an in-memory store, both closed when the test ends.
func newTopic(t *testing.T) (addrs []string, st *msync.Store) {
	t.Helper()
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "events"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cluster.Close)
	st, err = msync.Open(msync.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return cluster.ListenAddrs(), st
}

// electronicsViews is how many electronics views v1's profile counts on
// its first day.
func electronicsViews(st *msync.Store) int32 {
	p, _ := st.Get("v1")
	if p == nil || len(p.Views["electronics"]) == 0 {
		return 0
	}
	return p.Views["electronics"][0].Count
}

func TestConsumeCommitsAfterStoring(t *testing.T) {
	addrs, st := newTopic(t)
	var vals []string
	for i := range 5 {
		vals = append(vals, fmt.Sprintf(`{"id":"k%d","type":"view","visitor":"v1","category":"electronics"}`, i))
	}
	vals = append(vals, `not an event`, `{"id":"k0","type":"view","visitor":"v1","category":"electronics"}`)
	produce(t, addrs, "events", vals...)

	run := func() (*Consumer, chan struct{}) {
		c, err := New(Options{Brokers: addrs, Topic: "events", Group: "g", Store: st})
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() { c.Run(context.Background()); close(done) }()
		return c, done
	}
	c, done := run()
	count := func() int32 { return electronicsViews(st) }
	waitFor(t, "five views", func() bool { return count() == 5 })
	// Committed: a new consumer of the group starts after what was stored,
	// and sees only what is produced next.
	waitFor(t, "commit", func() bool { return c.committed() })
	c.Close()
	<-done
	produce(t, addrs, "events", `{"id":"k9","type":"view","visitor":"v1","category":"electronics"}`)
	c2, done2 := run()
	waitFor(t, "sixth view", func() bool { return count() == 6 })
	if d, r := testutil.ToFloat64(c2.duplicates), testutil.ToFloat64(c2.rejected); d != 0 || r != 0 {
		t.Errorf("restarted consumer re-read committed records: %v duplicates, %v rejected", d, r)
	}
	c2.Close()
	<-done2
}

// committed reports whether the first partition's offset past the seven
// produced records is committed.
func (c *Consumer) committed() bool {
	o := c.cl.CommittedOffsets()["events"]
	return o != nil && o[0].Offset >= 7
}
