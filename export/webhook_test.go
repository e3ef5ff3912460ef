package export

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// hook is a webhook receiver on loopback that answers each POST with the
// next status of a script (the last one repeating) and keeps every
// record it acknowledged.
type hook struct {
	mu       sync.Mutex
	script   []int
	posts    int
	auth     []string
	acked    map[string]int    // event id → times received in a stored batch
	lines    map[string]string // event id → its line, the first time
	maxBatch int
	// storeAll stores every batch, even one answered with an error: an
	// acknowledgement lost on the way back.
	storeAll bool
	block    chan struct{} // when set, POSTs wait for it to close
}

func newHook(t *testing.T, script ...int) (*hook, *httptest.Server) {
	h := &hook{script: script, acked: map[string]int{}, lines: map[string]string{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h.block != nil {
			select {
			case <-h.block:
			case <-r.Context().Done():
				return
			}
		}
		body, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		defer h.mu.Unlock()
		status := h.script[min(h.posts, len(h.script)-1)]
		h.posts++
		h.auth = append(h.auth, r.Header.Get("X-Api-Key"))
		if r.Header.Get("Content-Type") != "application/x-ndjson" {
			status = http.StatusUnsupportedMediaType
		}
		if status == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "0")
		}
		w.WriteHeader(status)
		if status/100 != 2 && !h.storeAll {
			return
		}
		lines := parseLines(t, body)
		h.maxBatch = max(h.maxBatch, len(lines))
		raw := strings.Split(strings.TrimSuffix(string(body), "\n"), "\n")
		for i, l := range lines {
			h.acked[l.EventID]++
			if prev, ok := h.lines[l.EventID]; ok && prev != raw[i] {
				t.Errorf("event %s sent as %s, then as %s", l.EventID, prev, raw[i])
			}
			h.lines[l.EventID] = raw[i]
		}
	}))
	t.Cleanup(srv.Close)
	return h, srv
}

func (h *hook) snapshot() (posts int, acked map[string]int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	acked = make(map[string]int, len(h.acked))
	for k, v := range h.acked {
		acked[k] = v
	}
	return h.posts, acked
}

// fastWebhook is a webhook sink for tests: small batches, tiny waits.
func fastWebhook(url string) *WebhookOptions {
	return &WebhookOptions{URL: url, AuthHeader: "X-Api-Key", Auth: "k1", BatchSize: 10, Wait: time.Millisecond,
		Timeout: 5 * time.Second, MinBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond}
}

func TestWebhookAtLeastOnce(t *testing.T) {
	const n = 35
	tests := []struct {
		name     string
		script   []int
		storeAll bool // the receiver stores batches it answers with errors
		refuses  bool // the receiver refuses the first batch for good
	}{
		{"all accepted", []int{200}, false, false},
		{"fails three times then succeeds", []int{503, 500, 502, 200}, false, false},
		{"timeouts and rate limits", []int{408, 429, 504, 204}, false, false},
		{"a bad request drops one batch", []int{400, 200}, false, true},
		{"lost acknowledgements send duplicates", []int{503, 503, 200}, true, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, srv := newHook(t, tc.script...)
			h.storeAll = tc.storeAll
			e, err := New(Options{Node: "n1", Webhook: fastWebhook(srv.URL)})
			if err != nil {
				t.Fatal(err)
			}
			record(e, n, time.Now())
			if err := e.Shutdown(context.Background()); err != nil {
				t.Fatal(err)
			}
			_, acked := h.snapshot()
			refused := count(e.m.failed, "webhook")
			if tc.refuses != (refused > 0) || refused > 10 {
				t.Errorf("failed_total %d, want %v (at most one batch)", refused, tc.refuses)
			}
			if len(acked) != n-refused {
				t.Errorf("got %d distinct records, want %d", len(acked), n-refused)
			}
			dups := 0
			for _, k := range acked {
				dups += k - 1
			}
			if tc.storeAll != (dups > 0) {
				t.Errorf("%d duplicates, want some: %v", dups, tc.storeAll)
			}
			if h.maxBatch > 10 {
				t.Errorf("a POST carried %d records, want at most 10", h.maxBatch)
			}
			for _, a := range h.auth {
				if a != "k1" {
					t.Fatalf("auth header %q, want k1", a)
				}
			}
			if got := count(e.m.records, "webhook"); got != n-refused {
				t.Errorf("records_total %d, want %d", got, n-refused)
			}
			if got := count(e.m.dropped, "webhook"); got != 0 {
				t.Errorf("dropped_total %d, want 0", got)
			}
		})
	}
}

func TestWebhookQueueBoundDropsAndCounts(t *testing.T) {
	h, srv := newHook(t, 200)
	h.block = make(chan struct{})
	wo := fastWebhook(srv.URL)
	wo.Wait = 50 * time.Millisecond // the first five go in one POST
	e, err := New(Options{Queue: 20, Webhook: wo})
	if err != nil {
		t.Fatal(err)
	}
	// The first batch is taken and blocks in its POST; it still counts
	// against the bound, so at most 20 records are held in all.
	record(e, 5, time.Now())
	waitFor(t, "the first POST", func() bool { return e.sinks[0].q.len() == 0 })
	record(e, 30, time.Now())
	if got := count(e.m.dropped, "webhook"); got != 15 {
		t.Errorf("dropped_total %d, want 15", got)
	}
	close(h.block)
	if err := e.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, acked := h.snapshot(); len(acked) != 20 {
		t.Errorf("delivered %d, want 20", len(acked))
	}
	record(e, 1, time.Now())
	if got := count(e.m.dropped, "webhook"); got != 16 {
		t.Errorf("after shutdown: dropped_total %d, want 16", got)
	}
}

func TestShutdownDeadlineCountsUndelivered(t *testing.T) {
	_, srv := newHook(t, 503)
	e, err := New(Options{Webhook: fastWebhook(srv.URL)})
	if err != nil {
		t.Fatal(err)
	}
	record(e, 25, time.Now())
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := e.Shutdown(ctx); !errors.Is(err, ErrUndelivered) {
		t.Errorf("got %v, want ErrUndelivered", err)
	}
	if got := count(e.m.failed, "webhook"); got != 25 {
		t.Errorf("failed_total %d, want 25", got)
	}
	if err := e.Shutdown(context.Background()); err != nil {
		t.Errorf("second Shutdown: %v", err)
	}
}

func TestBackoff(t *testing.T) {
	s := &sink{pol: policy{minBackoff: 100 * time.Millisecond, maxBackoff: time.Second}}
	plain := errors.New("503")
	tests := []struct {
		name     string
		attempt  int
		err      error
		low, max time.Duration
	}{
		{"first retry", 0, plain, 50 * time.Millisecond, 100 * time.Millisecond},
		{"third retry doubles twice", 2, plain, 200 * time.Millisecond, 400 * time.Millisecond},
		{"capped", 10, plain, 500 * time.Millisecond, time.Second},
		{"huge attempt does not overflow", 200, plain, 500 * time.Millisecond, time.Second},
		{"retry-after wins", 0, &retryAfterError{after: 7 * time.Second, err: plain}, 7 * time.Second, 7 * time.Second},
		{"retry-after capped", 0, &retryAfterError{after: time.Hour, err: plain}, maxRetryAfter, maxRetryAfter},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for range 50 {
				if d := s.backoff(tc.attempt, tc.err); d < tc.low || d > tc.max {
					t.Fatalf("got %v, want %v to %v", d, tc.low, tc.max)
				}
			}
		})
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"", 0, false},
		{"0", 0, true},
		{"120", 2 * time.Minute, true},
		{"Mon, 07 Dec 2026 10:00:30 GMT", 30 * time.Second, true},
		{"Mon, 07 Dec 2026 09:00:00 GMT", 0, true},
		{"-1", 0, false},
		{"soon", 0, false},
		{"99999999999", 0, false},
	}
	for _, tc := range tests {
		got, ok := parseRetryAfter(tc.in, now)
		if got != tc.want || ok != tc.ok {
			t.Errorf("parseRetryAfter(%q) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func FuzzParseRetryAfter(f *testing.F) {
	for _, s := range []string{"", "0", "120", "Mon, 07 Dec 2026 10:00:30 GMT", "Monday, 07-Dec-26 10:00:30 GMT", "-1", "1e9"} {
		f.Add(s)
	}
	now := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		if d, ok := parseRetryAfter(s, now); d < 0 || (!ok && d != 0) {
			t.Errorf("parseRetryAfter(%q) = %v, %v", s, d, ok)
		}
	})
}

// A redirect is not followed: a 301 would be re-sent as a GET without the
// body and its answer taken for an acknowledgement, a 307 would carry the
// body and the auth header to wherever Location points. Any 3xx is a
// retryable failure.
func TestWebhookDoesNotFollowRedirects(t *testing.T) {
	for _, status := range []int{http.StatusMovedPermanently, http.StatusTemporaryRedirect} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			var mu sync.Mutex
			var elsewhere []string // X-Api-Key of each request the other host got
			other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				elsewhere = append(elsewhere, r.Header.Get("X-Api-Key"))
				mu.Unlock()
			}))
			t.Cleanup(other.Close)
			src := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.Copy(io.Discard, r.Body)
				http.Redirect(w, r, other.URL+"/in", status)
			}))
			t.Cleanup(src.Close)
			e, err := New(Options{Webhook: &WebhookOptions{URL: src.URL, AuthHeader: "X-Api-Key", Auth: "s3cret",
				Wait: time.Millisecond, MinBackoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond}})
			if err != nil {
				t.Fatal(err)
			}
			record(e, 3, time.Now())
			waitFor(t, "retries", func() bool {
				return count(e.m.retries, "webhook") >= 2 || count(e.m.records, "webhook") > 0
			})
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			defer cancel()
			if err := e.Shutdown(ctx); !errors.Is(err, ErrUndelivered) {
				t.Errorf("Shutdown: %v, want ErrUndelivered", err)
			}
			if got := count(e.m.records, "webhook"); got != 0 {
				t.Errorf("records_total %d after redirects, want 0", got)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(elsewhere) != 0 {
				t.Errorf("redirect followed: %d requests reached the other host (keys %q)", len(elsewhere), elsewhere)
			}
		})
	}
}
