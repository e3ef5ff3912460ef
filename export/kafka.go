package export

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// KafkaOptions configures the Kafka sink.
type KafkaOptions struct {
	// Brokers are seed brokers, host:port. Required.
	Brokers []string
	// Topic receives one record per exposure or conversion, keyed by the
	// visitor (as exported), so that one visitor's records stay in order
	// on one partition. Required.
	Topic string
	// Wait is how long records are gathered before they are produced.
	// Zero means 100 ms.
	Wait time.Duration
	// ClientOpts are extra franz-go options (TLS, SASL, tests).
	ClientOpts []kgo.Opt
}

// kafkaBatch is how many records one produce call waits for.
const kafkaBatch = 1000

// kafkaOutput produces records with franz-go's idempotent producer, all
// in-sync replicas acknowledging.
type kafkaOutput struct {
	opts KafkaOptions
	cl   *kgo.Client
	recs []kgo.Record
	ptrs []*kgo.Record
}

func newKafkaOutput(o KafkaOptions) (*kafkaOutput, error) {
	if len(o.Brokers) == 0 || o.Topic == "" {
		return nil, errors.New("export: kafka sink needs brokers and a topic")
	}
	if o.Wait <= 0 {
		o.Wait = 100 * time.Millisecond
	}
	kopts := append([]kgo.Opt{
		kgo.SeedBrokers(o.Brokers...),
		kgo.DefaultProduceTopic(o.Topic),
		kgo.RequiredAcks(kgo.AllISRAcks()),
		// Our sink retries and bounds what waits; franz-go gives up on a
		// record after this long so that the sink's retry and shutdown
		// deadline stay in charge.
		kgo.RecordDeliveryTimeout(30 * time.Second),
	}, o.ClientOpts...)
	cl, err := kgo.NewClient(kopts...)
	if err != nil {
		return nil, fmt.Errorf("export: kafka: %w", err)
	}
	return &kafkaOutput{opts: o, cl: cl}, nil
}

func (o *kafkaOutput) policy() policy {
	return policy{name: "kafka", wait: o.opts.Wait, batch: kafkaBatch, minBackoff: 250 * time.Millisecond, maxBackoff: 30 * time.Second}
}

// send produces up to kafkaBatch records and waits for every
// acknowledgement. When any record fails, none counts: the whole part is
// produced again, and the ones already written come twice, with their
// event ids.
func (o *kafkaOutput) send(ctx context.Context, b *batch, from int) (int, error) {
	to := min(len(b.recs), from+kafkaBatch)
	o.recs = o.recs[:0]
	for i := from; i < to; i++ {
		var key []byte
		if k := b.key(i); len(k) > 0 {
			key = k
		}
		// The client reads Key and Value until ProduceSync returns, and
		// keeps nothing after: b may be reused then.
		o.recs = append(o.recs, kgo.Record{Key: key, Value: b.line(i)})
	}
	o.ptrs = o.ptrs[:0]
	for i := range o.recs {
		o.ptrs = append(o.ptrs, &o.recs[i])
	}
	res := o.cl.ProduceSync(ctx, o.ptrs...)
	clear(o.ptrs)
	clear(o.recs)
	if err := res.FirstErr(); err != nil {
		return 0, fmt.Errorf("export: kafka: %w", err)
	}
	return to - from, nil
}

func (o *kafkaOutput) close() error {
	o.cl.Close()
	return nil
}
