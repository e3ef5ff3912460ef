package export

import "sync"

// queue is one sink's bounded buffer of encoded records. Producers append
// under its mutex, which guards only a copy; the sink's goroutine swaps
// the whole buffer out for its spare one, so neither side allocates once
// both buffers have grown.
type queue struct {
	maxRecs, maxBytes int
	batch             int           // records that make a batch worth sending now
	wake              chan struct{} // one token: records arrived, or a batch is full

	mu     sync.Mutex // guards the fields below
	buf    []byte
	recs   []rec
	held   int // records taken by the sink and not yet done, within maxRecs
	closed bool
}

// rec is one record in a buffer: the line buf[off:end], newline
// included, and its Kafka key buf[key0:key1].
type rec struct {
	off, end, key0, key1 int
	ms                   int64
}

func newQueue(maxRecs, batch int) *queue {
	return &queue{maxRecs: maxRecs, maxBytes: maxRecs * queueBytesPerRecord, batch: max(batch, 1), wake: make(chan struct{}, 1)}
}

// push appends line, whose key is line[key[0]:key[1]], or reports false
// when the queue is full or closed. It does not retain line.
func (q *queue) push(line []byte, key [2]int, ms int64) bool {
	q.mu.Lock()
	if q.closed || len(q.recs)+q.held >= q.maxRecs || len(q.buf)+len(line) > q.maxBytes {
		q.mu.Unlock()
		return false
	}
	off := len(q.buf)
	q.buf = append(q.buf, line...)
	q.recs = append(q.recs, rec{off: off, end: len(q.buf), key0: off + key[0], key1: off + key[1], ms: ms})
	n := len(q.recs)
	q.mu.Unlock()
	if n == 1 || n == q.batch {
		select {
		case q.wake <- struct{}{}:
		default:
		}
	}
	return true
}

// len returns the number of records waiting, not counting those taken.
func (q *queue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.recs)
}

// take moves every waiting record into b, whose previous buffers become
// the queue's, and holds them against the bound until done.
func (q *queue) take(b *batch) {
	q.mu.Lock()
	b.buf, q.buf = q.buf, b.buf[:0]
	b.recs, q.recs = q.recs, b.recs[:0]
	q.held = len(b.recs)
	q.mu.Unlock()
}

// done releases the records of the last take.
func (q *queue) done() {
	q.mu.Lock()
	q.held = 0
	q.mu.Unlock()
}

// close refuses further records; those queued stay for the sink.
func (q *queue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// batch is what a sink delivers at once: records and the buffer they
// point into. Record lines are contiguous and in order, so that any run
// of them is one slice of buf.
type batch struct {
	buf  []byte
	recs []rec
}

// span returns the bytes of records recs[i:j], newlines included.
func (b *batch) span(i, j int) []byte { return b.buf[b.recs[i].off:b.recs[j-1].end] }

// line returns record i without its newline.
func (b *batch) line(i int) []byte { r := b.recs[i]; return b.buf[r.off : r.end-1] }

// key returns record i's key: its visitor as written in the record.
func (b *batch) key(i int) []byte { r := b.recs[i]; return b.buf[r.key0:r.key1] }
