package proxy

import (
	"context"
	"sync"
)

// maxBackground bounds the background revalidations under way at once,
// over all URLs: each holds an origin connection for up to OriginTimeout,
// and a burst of stale URLs must not open hundreds.
const maxBackground = 64

// background tracks the goroutines that outlive the request that started
// them (the cache's background revalidations), so that Shutdown can stop
// new ones and wait for those under way. The zero value is ready.
type background struct {
	mu      sync.Mutex // guards running and closed
	running int
	closed  bool
	wg      sync.WaitGroup
}

// start reports whether one more goroutine may start, and counts it if
// so: not once closed, nor past maxBackground. Each start that reports
// true is ended by done.
func (b *background) start() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed || b.running >= maxBackground {
		return false
	}
	b.running++
	b.wg.Add(1)
	return true
}

// done ends one started goroutine.
func (b *background) done() {
	b.mu.Lock()
	b.running--
	b.mu.Unlock()
	b.wg.Done()
}

// close stops new starts and waits until those under way are done or ctx
// ends. It may be called more than once.
func (b *background) close(ctx context.Context) error {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	finished := make(chan struct{})
	go func() {
		b.wg.Wait()
		close(finished)
	}()
	select {
	case <-finished:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
