package export

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
)

// WebhookOptions configures the webhook sink.
type WebhookOptions struct {
	// URL receives each batch as a POST of NDJSON
	// (Content-Type: application/x-ndjson). Required.
	URL string
	// AuthHeader names the header that carries Auth. Zero means
	// "Authorization".
	AuthHeader string
	// Auth is sent in AuthHeader with every POST, e.g. "Bearer s3cret".
	// Empty: no such header.
	Auth string
	// BatchSize is the most records one POST carries. Zero means 500.
	BatchSize int
	// Wait is how long records are gathered before a POST that is not
	// full. Zero means one second.
	Wait time.Duration
	// Timeout bounds one POST, answer included. Zero means 10 seconds.
	Timeout time.Duration
	// MinBackoff is the delay before the first retry, doubled per failed
	// attempt up to MaxBackoff, each delay drawn from its upper half.
	// Zero means 500 ms and 1 minute.
	MinBackoff, MaxBackoff time.Duration
	// Client sends the POSTs. Nil: a client of its own. Either way
	// redirects are not followed: a 3xx answer is a failure, retried.
	Client *http.Client
}

// webhookOutput POSTs batches. 2xx acknowledges the batch; 3xx (redirects
// are not followed), 408, 429, 5xx and transport errors (timeouts
// included) are retried, honouring Retry-After; any other status refuses
// the batch for good.
type webhookOutput struct {
	opts WebhookOptions
	hc   *http.Client
}

func newWebhookOutput(o WebhookOptions) (*webhookOutput, error) {
	if o.URL == "" {
		return nil, errors.New("export: webhook sink needs a URL")
	}
	if _, err := http.NewRequest(http.MethodPost, o.URL, nil); err != nil {
		return nil, fmt.Errorf("export: webhook: %w", err)
	}
	if o.AuthHeader == "" {
		o.AuthHeader = "Authorization"
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 500
	}
	if o.Wait <= 0 {
		o.Wait = time.Second
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = 500 * time.Millisecond
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = time.Minute
	}
	o.MaxBackoff = max(o.MaxBackoff, o.MinBackoff)
	// Redirects are never followed: a 301 or 302 would be re-sent as a
	// GET without the batch and its answer taken for an acknowledgement,
	// and a 307 or 308 would carry the batch and the auth header to
	// whatever host Location names. A 3xx is a failure, retried.
	hc := &http.Client{}
	if o.Client != nil {
		c := *o.Client
		hc = &c
	}
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &webhookOutput{opts: o, hc: hc}, nil
}

func (o *webhookOutput) policy() policy {
	return policy{name: "webhook", wait: o.opts.Wait, batch: o.opts.BatchSize, minBackoff: o.opts.MinBackoff, maxBackoff: o.opts.MaxBackoff}
}

// send POSTs up to BatchSize records.
func (o *webhookOutput) send(ctx context.Context, b *batch, from int) (int, error) {
	to := min(len(b.recs), from+o.opts.BatchSize)
	ctx, cancel := context.WithTimeout(ctx, o.opts.Timeout)
	defer cancel()
	// A reader per attempt: the transport may still hold the last one
	// when Do has returned an error.
	body := b.span(from, to)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, o.opts.URL, bytes.NewReader(body))
	if err != nil {
		return 0, &refusedError{n: to - from, err: err}
	}
	req.Header.Set("Content-Type", "application/x-ndjson")
	if o.opts.Auth != "" {
		req.Header.Set(o.opts.AuthHeader, o.opts.Auth)
	}
	resp, err := o.hc.Do(req)
	if err != nil {
		return 0, fmt.Errorf("export: webhook: %w", err)
	}
	// Drain a little so that the connection is reused.
	_, _ = io.CopyN(io.Discard, resp.Body, 4<<10)
	resp.Body.Close()
	switch s := resp.StatusCode; {
	case s >= 200 && s < 300:
		return to - from, nil
	case s >= 300 && s < 400:
		// Not followed (see newWebhookOutput): the batch was not taken.
		return 0, fmt.Errorf("export: webhook: status %d redirects to %.200q; redirects are not followed, set export.webhook.url to the final URL", s, resp.Header.Get("Location"))
	case s == http.StatusRequestTimeout || s == http.StatusTooManyRequests || s >= 500:
		err := fmt.Errorf("export: webhook: status %d", s)
		if d, ok := parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
			return 0, &retryAfterError{after: d, err: err}
		}
		return 0, err
	default:
		return 0, &refusedError{n: to - from, err: fmt.Errorf("export: webhook: status %d", s)}
	}
}

// parseRetryAfter reads a Retry-After value, delay-seconds or an
// HTTP-date (RFC 9110 §10.2.3), as a delay from now.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	if n, err := strconv.ParseUint(v, 10, 32); err == nil {
		return time.Duration(n) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

func (o *webhookOutput) close() error {
	o.hc.CloseIdleConnections()
	return nil
}
