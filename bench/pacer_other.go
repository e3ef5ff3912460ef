//go:build !linux

package bench

import "time"

// pacer sleeps for the open-loop schedule. Off Linux it is time.Sleep,
// which may wake a millisecond or more late.
type pacer struct{}

func newPacer() *pacer { return &pacer{} }

func (p *pacer) sleep(d time.Duration) { time.Sleep(d) }

func (p *pacer) close() {}
