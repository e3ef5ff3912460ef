package export

import (
	"bufio"
	"bytes"
	"encoding/json"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// line is a record as a reader of the stream sees it.
type line struct {
	EventID    string   `json:"event_id"`
	Type       string   `json:"type"`
	Time       string   `json:"time"`
	Visitor    *string  `json:"visitor"`
	Customer   *string  `json:"customer"`
	URL        *string  `json:"url"`
	Campaign   string   `json:"campaign"`
	Experiment *string  `json:"experiment"`
	Variant    string   `json:"variant"`
	Value      *float64 `json:"value"`
	Node       string   `json:"node"`
}

// parseLines decodes NDJSON strictly: every line one record with known
// fields only.
func parseLines(t *testing.T, b []byte) []line {
	t.Helper()
	var out []line
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.DisallowUnknownFields()
		var l line
		if err := dec.Decode(&l); err != nil {
			t.Fatalf("line %q: %v", sc.Bytes(), err)
		}
		out = append(out, l)
	}
	return out
}

// clock is a settable test clock.
type clock struct{ ns atomic.Int64 }

func newClock(t time.Time) *clock {
	c := &clock{}
	c.set(t)
	return c
}

func (c *clock) set(t time.Time)     { c.ns.Store(t.UnixNano()) }
func (c *clock) now() time.Time      { return time.Unix(0, c.ns.Load()) }
func (c *clock) add(d time.Duration) { c.ns.Add(int64(d)) }

// waitFor polls cond every 5 ms for at most 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

// count reads sink's value of counter vec.
func count(vec *prometheus.CounterVec, sink string) int {
	return int(testutil.ToFloat64(vec.WithLabelValues(sink)))
}

// record adds n exposures of visitor "v<i>" to e, at url /p/<i>.
func record(e *Exporter, n int, t time.Time) {
	var s Subject
	for i := range n {
		id := []byte("v" + strconv.Itoa(i))
		e.SetSubject(&s, id, nil, []byte("/p/"+strconv.Itoa(i)), t)
		e.Exposure(&s, "hero", "hero-test", "b")
	}
}
