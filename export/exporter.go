package export

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/marquee-proxy/marquee/internal/httpfield"
	"github.com/prometheus/client_golang/prometheus"
)

// DefaultQueue is how many records wait per sink when Options.Queue is
// zero: about a minute of a busy node's exposures.
const DefaultQueue = 65536

// queueBytesPerRecord bounds a queue's bytes at this many per record of
// Options.Queue on average: a queue of long URLs holds fewer records.
const queueBytesPerRecord = 1024

// Sentinel errors.
var (
	// ErrNoSink is returned by New when Options names no sink.
	ErrNoSink = errors.New("export: no sink configured")
	// ErrShortKey is returned by New for an Options.HashKey shorter than
	// MinHashKey bytes.
	ErrShortKey = errors.New("export: hash key too short")
	// ErrUndelivered is returned by Shutdown when records were still
	// unacknowledged at its deadline; they are counted as failed.
	ErrUndelivered = errors.New("export: records left undelivered at shutdown")
)

// MinHashKey is the shortest accepted Options.HashKey, in bytes.
const MinHashKey = 16

// Options configures an Exporter. At least one of File, Kafka and
// Webhook must be set.
type Options struct {
	// Node names this node in records and their event ids. Zero means
	// "local".
	Node string
	// HashKey, when set, replaces visitor and customer ids in records by
	// the hex HMAC-SHA256 of the id under this key, so that the warehouse
	// can join a person's records without learning the ids the shop and
	// the cookie use. At least MinHashKey bytes. Nil: ids are exported as
	// they are.
	HashKey []byte
	// Query names the query parameters a record's url keeps: exact
	// names (form-decoded) and prefixes ending in "*" ("utm_*"); "*"
	// keeps every parameter. The others are left out, so that tokens and
	// personal data in query strings (a password reset link's token, an
	// email address) do not reach the warehouse. Nil means DefaultQuery;
	// an empty, non-nil list keeps none.
	Query []string
	// Queue bounds the records waiting per sink, those being delivered
	// included, and with them the queue's bytes (1 KiB per record on
	// average). Past it records are dropped and counted. Zero means
	// DefaultQueue.
	Queue int
	// File writes daily NDJSON files. Nil: no files.
	File *FileOptions
	// Kafka produces records to a topic. Nil: no Kafka.
	Kafka *KafkaOptions
	// Webhook POSTs batches of records. Nil: no webhook.
	Webhook *WebhookOptions
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger receives failed deliveries, at most one line per sink and
	// attempt streak. Nil discards.
	Logger *slog.Logger
	// Registry receives the marquee_export_* metrics. Nil: not registered.
	Registry prometheus.Registerer
}

// Exporter records exposures and conversions and delivers them to its
// sinks. Create one with New; Shutdown flushes and stops it.
//
// A record is one line of JSON:
//
//	{"event_id":"edge-1-mxd46azf-42","type":"exposure","time":"2026-12-07T10:15:00.123Z",
//	 "visitor":"…","customer":null,"url":"/p/1?utm_source=mail","campaign":"hero",
//	 "experiment":"hero-test","variant":"b","node":"edge-1"}
//
// event_id is the node, its start time (base 36 Unix milliseconds) and a
// sequence number: unique across nodes and restarts, and the same on every
// delivery of the record. type is "exposure" or "conversion"; time is
// when it happened, RFC 3339 in UTC with milliseconds; visitor and
// customer are the ids, or their keyed hashes (Options.HashKey), customer
// null for an anonymous visitor; url is the page's path and query, with
// only the parameters Options.Query keeps, null when unknown; experiment is null for a
// campaign without one; value, on conversions only, is the purchase
// value (0: none).
type Exporter struct {
	now    func() time.Time
	log    *slog.Logger
	prefix []byte // `{"event_id":"NODE-BOOT-` with NODE-BOOT- escaped
	node   []byte // `,"node":"NODE"}` + "\n"
	seq    atomic.Uint64
	hashes sync.Pool // *hasher; nil New when ids are raw
	lines  sync.Pool // *[]byte
	sinks  []*sink
	query  httpfield.Names // the url parameters kept

	closeOnce sync.Once
	stop      chan struct{}   // closed by Shutdown: drain and return
	ctx       context.Context // cancelled when Shutdown's deadline passes
	cancel    context.CancelFunc
	wg        sync.WaitGroup

	m metrics
}

// hasher is one HMAC-SHA256 state and its output buffer.
type hasher struct {
	h   hash.Hash
	sum []byte
}

// New builds the sinks and starts one goroutine per sink. On failure it
// releases what it had opened.
func New(opts Options) (*Exporter, error) {
	if opts.File == nil && opts.Kafka == nil && opts.Webhook == nil {
		return nil, ErrNoSink
	}
	if opts.HashKey != nil && len(opts.HashKey) < MinHashKey {
		return nil, ErrShortKey
	}
	if opts.Node == "" {
		opts.Node = "local"
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Queue <= 0 {
		opts.Queue = DefaultQueue
	}
	if opts.Query == nil {
		opts.Query = DefaultQuery
	}
	keep, err := httpfield.CompileNames(opts.Query, true)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrQueryPattern, err)
	}
	e := &Exporter{now: opts.Now, log: opts.Logger, stop: make(chan struct{}), m: newMetrics(), query: keep}
	e.ctx, e.cancel = context.WithCancel(context.Background())
	boot := strconv.FormatInt(opts.Now().UnixMilli(), 36)
	e.prefix = appendJSONString([]byte(`{"event_id":`), opts.Node+"-"+boot+"-")
	e.prefix = e.prefix[:len(e.prefix)-1] // the sequence number follows
	e.node = append(appendJSONString([]byte(`,"node":`), opts.Node), "}\n"...)
	if key := opts.HashKey; key != nil {
		key = append([]byte(nil), key...)
		e.hashes.New = func() any { return &hasher{h: hmac.New(sha256.New, key)} }
	}
	e.lines.New = func() any { b := make([]byte, 0, 512); return &b }

	var outs []output
	fail := func(err error) (*Exporter, error) {
		for _, o := range outs {
			_ = o.close()
		}
		e.cancel()
		return nil, err
	}
	if f := opts.File; f != nil {
		o, err := newFileOutput(*f, opts.Now)
		if err != nil {
			return fail(err)
		}
		outs = append(outs, o)
	}
	if k := opts.Kafka; k != nil {
		o, err := newKafkaOutput(*k)
		if err != nil {
			return fail(err)
		}
		outs = append(outs, o)
	}
	if w := opts.Webhook; w != nil {
		o, err := newWebhookOutput(*w)
		if err != nil {
			return fail(err)
		}
		outs = append(outs, o)
	}
	if err := e.start(outs, opts); err != nil {
		return fail(err)
	}
	return e, nil
}

// start registers the metrics and starts one sink per output.
func (e *Exporter) start(outs []output, opts Options) error {
	if opts.Registry != nil {
		if err := e.m.register(opts.Registry); err != nil {
			return err
		}
	}
	for _, o := range outs {
		e.sinks = append(e.sinks, newSink(e, o, opts.Queue))
	}
	for _, s := range e.sinks {
		e.wg.Go(s.run)
	}
	return nil
}

// SetSubject fills s for a page seen at t by visitor (the cookie's id)
// and customer (nil when anonymous) at url, the path and query as the
// origin received it (nil: unknown), of which it keeps the query
// parameters Options.Query names. It copies what it needs; ids are
// hashed here, once per page, when Options.HashKey is set. It does not
// allocate once s has grown to its size.
func (e *Exporter) SetSubject(s *Subject, visitor, customer, url []byte, t time.Time) {
	b := s.buf[:0]
	b = append(b, `"time":"`...)
	b = appendTime(b, t)
	b = append(b, `","visitor":`...)
	b, s.key = e.appendID(b, visitor)
	b = append(b, `,"customer":`...)
	b, _ = e.appendID(b, customer)
	b = append(b, `,"url":`...)
	if len(url) > 0 {
		s.url = appendFilteredURL(&e.query, s.url[:0], url)
		url = s.url
	}
	b = appendNullable(b, cutURL(url))
	b = append(b, ',')
	s.buf, s.ms = b, t.UnixMilli()
}

// appendID appends id as exported, quoted (null when empty), and returns
// where its value sits without the quotes.
func (e *Exporter) appendID(dst, id []byte) ([]byte, [2]int) {
	if len(id) == 0 {
		return append(dst, "null"...), [2]int{len(dst), len(dst)}
	}
	if e.hashes.New == nil {
		start := len(dst) + 1
		dst = appendJSONString(dst, id)
		return dst, [2]int{start, len(dst) - 1}
	}
	h := e.hashes.Get().(*hasher)
	h.h.Reset()
	h.h.Write(id)
	h.sum = h.h.Sum(h.sum[:0])
	dst = append(dst, '"')
	start := len(dst)
	dst = hex.AppendEncode(dst, h.sum)
	end := len(dst)
	e.hashes.Put(h)
	return append(dst, '"'), [2]int{start, end}
}

// Exposure records that s's visitor was shown campaign's variant;
// experiment is the campaign's experiment id, empty for none. It never
// blocks: a sink whose queue is full drops the record and counts it.
func (e *Exporter) Exposure(s *Subject, campaign, experiment, variant string) {
	e.add(s, Exposure, campaign, experiment, variant, 0)
}

// Conversion records a conversion worth value (0: none) credited to s's
// visitor's exposure to campaign's variant. Like Exposure, it never
// blocks.
func (e *Exporter) Conversion(s *Subject, campaign, experiment, variant string, value float64) {
	e.add(s, Conversion, campaign, experiment, variant, value)
}

// add encodes one record and queues it for every sink.
func (e *Exporter) add(s *Subject, typ Type, campaign, experiment, variant string, value float64) {
	lp := e.lines.Get().(*[]byte)
	b := append((*lp)[:0], e.prefix...)
	b = strconv.AppendUint(b, e.seq.Add(1), 10)
	b = append(b, `","type":"`...)
	b = append(b, typ.String()...)
	b = append(b, `",`...)
	keyOff := len(b)
	b = append(b, s.buf...)
	b = append(b, `"campaign":`...)
	b = appendJSONString(b, campaign)
	b = append(b, `,"experiment":`...)
	b = appendNullable(b, experiment)
	b = append(b, `,"variant":`...)
	b = appendJSONString(b, variant)
	if typ == Conversion {
		b = append(b, `,"value":`...)
		b = appendValue(b, value)
	}
	b = append(b, e.node...)
	if len(s.buf) == 0 {
		keyOff = 0 // an empty Subject: no visitor, no key
	}
	key := [2]int{keyOff + s.key[0], keyOff + s.key[1]}
	for _, sk := range e.sinks {
		if !sk.q.push(b, key, s.ms) {
			sk.dropped.Inc()
		}
	}
	*lp = b
	e.lines.Put(lp)
}

// Shutdown stops taking records and delivers those queued until ctx ends;
// then it abandons the rest, counts them as failed and returns
// ErrUndelivered. It closes the sinks. Calls after the first return nil.
func (e *Exporter) Shutdown(ctx context.Context) error {
	var err error
	e.closeOnce.Do(func() {
		for _, s := range e.sinks {
			s.q.close()
		}
		close(e.stop)
		done := make(chan struct{})
		go func() { e.wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-ctx.Done():
			e.cancel()
			<-done
		}
		e.cancel()
		var errs []error
		for _, s := range e.sinks {
			if s.undelivered.Load() > 0 && len(errs) == 0 {
				errs = append(errs, ErrUndelivered)
			}
		}
		for _, s := range e.sinks {
			errs = append(errs, s.out.close())
		}
		err = errors.Join(errs...)
	})
	return err
}
