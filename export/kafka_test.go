package export

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestKafkaDeliversEveryRecordKeyedByVisitor(t *testing.T) {
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(3, "exposures"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cluster.Close)
	e, err := New(Options{Node: "n1", Kafka: &KafkaOptions{Brokers: cluster.ListenAddrs(), Topic: "exposures", Wait: time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	const n = 250
	var s Subject
	for i := range n {
		// Five visitors, so that each has records on one partition.
		e.SetSubject(&s, []byte{'v', byte('0' + i%5)}, nil, []byte("/"), time.Now())
		e.Exposure(&s, "hero", "", "default")
	}
	if err := e.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := count(e.m.records, "kafka"); got != n {
		t.Errorf("records_total %d, want %d", got, n)
	}

	cl, err := kgo.NewClient(kgo.SeedBrokers(cluster.ListenAddrs()...), kgo.ConsumeTopics("exposures"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ids := map[string]bool{}
	partitionOf := map[string]int32{}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for len(ids) < n && ctx.Err() == nil {
		fs := cl.PollFetches(ctx)
		fs.EachRecord(func(r *kgo.Record) {
			l := parseLines(t, r.Value)[0]
			if l.Visitor == nil || string(r.Key) != *l.Visitor {
				t.Errorf("key %q, want the visitor of %s", r.Key, r.Value)
			}
			if p, ok := partitionOf[string(r.Key)]; ok && p != r.Partition {
				t.Errorf("visitor %q on partitions %d and %d", r.Key, p, r.Partition)
			}
			partitionOf[string(r.Key)] = r.Partition
			ids[l.EventID] = true
		})
	}
	if len(ids) != n {
		t.Errorf("read back %d distinct records, want %d", len(ids), n)
	}
}

func TestKafkaRetriesUntilTheTopicExists(t *testing.T) {
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cluster.Close)
	e, err := New(Options{Kafka: &KafkaOptions{Brokers: cluster.ListenAddrs(), Topic: "later", Wait: time.Millisecond,
		ClientOpts: []kgo.Opt{kgo.RecordDeliveryTimeout(time.Second)}}})
	if err != nil {
		t.Fatal(err)
	}
	record(e, 10, time.Now())
	waitFor(t, "a failed attempt", func() bool { return count(e.m.retries, "kafka") > 0 })
	// Create the topic; the records waiting are then produced.
	adm, err := kgo.NewClient(kgo.SeedBrokers(cluster.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	defer adm.Close()
	req := kmsg.NewPtrCreateTopicsRequest()
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic, rt.NumPartitions, rt.ReplicationFactor = "later", 1, 1
	req.Topics = append(req.Topics, rt)
	if _, err := req.RequestWith(context.Background(), adm); err != nil {
		t.Fatal(err)
	}
	if err := e.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := count(e.m.records, "kafka"); got != 10 {
		t.Errorf("records_total %d, want 10", got)
	}
}
