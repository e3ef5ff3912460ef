package cache

import (
	"net/http"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
)

// t0 is the response time of every test response.
var t0 = time.Date(2026, 12, 7, 6, 0, 0, 0, time.UTC)

func httpDate(t time.Time) string { return t.UTC().Format(http.TimeFormat) }

// fakeReq is a request header from "Name: value" lines.
type fakeReq map[string]string

func reqOf(lines ...string) fakeReq {
	r := fakeReq{}
	for _, l := range lines {
		k, v, _ := strings.Cut(l, ":")
		r[http.CanonicalHeaderKey(k)] = strings.TrimSpace(v)
	}
	return r
}

func (r fakeReq) Peek(key string) []byte {
	if v, ok := r[http.CanonicalHeaderKey(key)]; ok {
		return []byte(v)
	}
	return nil
}

// respOf builds a response received at t0 from "Name: value" lines; a
// Date of t0 is added unless a line names Date ("Date:" alone leaves it
// out).
func respOf(status int, lines ...string) *Response {
	r := &Response{Status: status, RequestTime: t0, ResponseTime: t0}
	hasDate := false
	for _, l := range lines {
		k, v, _ := strings.Cut(l, ":")
		if strings.EqualFold(k, "Date") {
			hasDate = true
			if strings.TrimSpace(v) == "" {
				continue
			}
		}
		r.Fields = append(r.Fields, Field{Name: []byte(k), Value: []byte(strings.TrimSpace(v))})
	}
	if !hasDate {
		r.Fields = append(r.Fields, Field{Name: []byte("Date"), Value: []byte(httpDate(t0))})
	}
	return r
}

func newTestCache(t testing.TB, o Options) *Cache {
	t.Helper()
	if o.MaxSize == 0 {
		o.MaxSize = 64 << 20
	}
	c, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// store admits and puts r under url, failing the test if it is refused.
func store(t testing.TB, c *Cache, url string, req fakeReq, r *Response) *Entry {
	t.Helper()
	e, why := c.Admit([]byte(url), req, r)
	if e == nil {
		t.Fatalf("Admit %s: refused: %s", url, why)
	}
	c.Put(e)
	return e
}

func counterValue(c interface{ Write(*dto.Metric) error }) float64 {
	var m dto.Metric
	_ = c.Write(&m)
	return m.GetCounter().GetValue()
}
