package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

// LoadOptions configures one load phase.
type LoadOptions struct {
	// URL is requested with GET on every request. Required; http only.
	URL string
	// Connections is the number of concurrent connections, each driven by
	// its own goroutine. Zero means 1.
	Connections int
	// Duration bounds the phase. Required.
	Duration time.Duration
	// MaxRequests bounds the phase by count too. Zero: only Duration.
	MaxRequests uint64
	// Rate, when positive, sends requests on a fixed schedule of Rate per
	// second (open loop) instead of as fast as responses come back
	// (closed loop).
	Rate float64
	// CookieName and Cookies give each request the cookie of a visitor
	// drawn from a Zipf distribution over Cookies. No Cookies: no cookie.
	CookieName string
	Cookies    []string
	// ZipfS is the Zipf exponent. Zero means DefaultZipfS.
	ZipfS float64
	// AcceptEncoding, when set, is sent as Accept-Encoding.
	AcceptEncoding string
	// Progress, when set, is called about once a second with the requests
	// completed so far. It runs on its own goroutine.
	Progress func(done uint64, elapsed time.Duration)
}

// LoadResult is what one load phase measured.
type LoadResult struct {
	// Requests completed with a response, whatever its status.
	Requests uint64
	// Errors are requests that got no response (connection errors,
	// timeouts) or a status other than 200.
	Errors uint64
	// Bytes is the response body bytes received.
	Bytes uint64
	// Hits counts responses that say "X-Cache: HIT": answered by a cache
	// in the server without asking the origin. marquee (cache.x_cache_header)
	// and the bench's nginx (its $upstream_cache_status) both send it.
	Hits uint64
	// Late counts open-loop requests sent more than 1 ms after their
	// scheduled time: the generator could not keep the rate.
	Late uint64
	// Elapsed is how long the phase ran.
	Elapsed time.Duration
	// Latency holds each completed request's time from send to the whole
	// response read.
	Latency Histogram
}

// RPS returns completed requests per second.
func (r *LoadResult) RPS() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Requests) / r.Elapsed.Seconds()
}

var (
	strXCache = []byte("X-Cache")
	strHIT    = []byte("HIT")
)

// lateAfter is how far behind schedule an open-loop request may be sent
// before it counts as late.
const lateAfter = time.Millisecond

// Load runs one phase of load against opts.URL and returns what it
// measured. It stops at opts.Duration, at opts.MaxRequests, or when ctx
// ends, whichever comes first.
func Load(ctx context.Context, opts LoadOptions) (*LoadResult, error) {
	u, err := url.Parse(opts.URL)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return nil, fmt.Errorf("bench: load: want an http:// URL, got %q", opts.URL)
	}
	if opts.Duration <= 0 {
		return nil, errors.New("bench: load: no duration")
	}
	conns := max(opts.Connections, 1)
	client := &fasthttp.HostClient{
		Addr:                          u.Host,
		MaxConns:                      conns,
		ReadTimeout:                   30 * time.Second,
		WriteTimeout:                  30 * time.Second,
		MaxIdleConnDuration:           time.Minute,
		DisableHeaderNamesNormalizing: true,
		NoDefaultUserAgentHeader:      true,
	}
	defer client.CloseIdleConnections()

	var (
		stop      atomic.Bool
		issued    atomic.Uint64
		completed atomic.Uint64
		wg        sync.WaitGroup
		mu        sync.Mutex
		total     = new(LoadResult)
	)
	start := time.Now()
	end := start.Add(opts.Duration)
	var interval time.Duration
	if opts.Rate > 0 {
		interval = time.Duration(float64(time.Second) / opts.Rate)
		interval = max(interval, 1)
	}
	timer := time.AfterFunc(opts.Duration, func() { stop.Store(true) })
	defer timer.Stop()
	ctxDone := context.AfterFunc(ctx, func() { stop.Store(true) })
	defer ctxDone()

	progressDone := make(chan struct{})
	if opts.Progress != nil {
		go func() {
			t := time.NewTicker(time.Second)
			defer t.Stop()
			for {
				select {
				case <-progressDone:
					return
				case <-t.C:
					opts.Progress(completed.Load(), time.Since(start))
				}
			}
		}()
	}

	for w := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res := new(LoadResult)
			req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			defer fasthttp.ReleaseRequest(req)
			defer fasthttp.ReleaseResponse(resp)
			req.SetRequestURI(opts.URL)
			if opts.AcceptEncoding != "" {
				req.Header.Set(fasthttp.HeaderAcceptEncoding, opts.AcceptEncoding)
			}
			var pick *Picker
			if len(opts.Cookies) > 0 {
				s := opts.ZipfS
				if s == 0 {
					s = DefaultZipfS
				}
				pick = NewPicker(len(opts.Cookies), s, uint64(w)+uint64(start.UnixNano()))
			}
			var pc *pacer
			if interval > 0 {
				pc = newPacer()
				defer pc.close()
			}
			for !stop.Load() {
				n := issued.Add(1)
				if opts.MaxRequests > 0 && n > opts.MaxRequests {
					stop.Store(true)
					break
				}
				if interval > 0 {
					due := start.Add(time.Duration(n-1) * interval)
					if due.After(end) {
						stop.Store(true)
						break
					}
					if wait := time.Until(due); wait > 0 {
						pc.sleep(wait)
					} else if -wait > lateAfter {
						res.Late++
					}
				}
				if pick != nil {
					req.Header.SetCookie(opts.CookieName, opts.Cookies[pick.Next()])
				}
				t0 := time.Now()
				err := client.Do(req, resp)
				lat := time.Since(t0)
				if err != nil {
					res.Errors++
					if stop.Load() {
						break
					}
					continue
				}
				res.Requests++
				completed.Add(1)
				res.Bytes += uint64(len(resp.Body()))
				if bytes.Equal(resp.Header.PeekBytes(strXCache), strHIT) {
					res.Hits++
				}
				if resp.StatusCode() != fasthttp.StatusOK {
					res.Errors++
				}
				res.Latency.Record(lat)
			}
			mu.Lock()
			total.Requests += res.Requests
			total.Errors += res.Errors
			total.Bytes += res.Bytes
			total.Hits += res.Hits
			total.Late += res.Late
			total.Latency.Merge(&res.Latency)
			mu.Unlock()
		}()
	}
	wg.Wait()
	total.Elapsed = time.Since(start)
	close(progressDone)
	if err := ctx.Err(); err != nil {
		return total, err
	}
	return total, nil
}
