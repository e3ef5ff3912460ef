package bench

import (
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// pacer sleeps with a precision of tens of microseconds, for the open-loop
// schedule. time.Sleep wakes up to a millisecond late when the runtime is
// otherwise idle (its poller waits in whole milliseconds), which would turn
// a fixed rate into bursts; a blocking nanosleep would hold a P until the
// runtime's monitor takes it back, up to 10 ms later. A timerfd read
// through the runtime's poller has neither problem: the goroutine parks,
// and the poller wakes when the timer fires. A pacer is not safe for
// concurrent use; give each goroutine its own.
type pacer struct {
	f   *os.File // nil: fall back to time.Sleep
	fd  int
	buf [8]byte
}

func newPacer() *pacer {
	fd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
	if err != nil {
		return &pacer{}
	}
	return &pacer{f: os.NewFile(uintptr(fd), "timerfd"), fd: fd}
}

// sleep pauses the calling goroutine for d.
func (p *pacer) sleep(d time.Duration) {
	if d <= 0 {
		return
	}
	if p.f != nil {
		spec := unix.ItimerSpec{Value: unix.NsecToTimespec(int64(d))}
		if unix.TimerfdSettime(p.fd, 0, &spec, nil) == nil {
			if _, err := p.f.Read(p.buf[:]); err == nil {
				return
			}
		}
	}
	time.Sleep(d)
}

func (p *pacer) close() {
	if p.f != nil {
		p.f.Close()
	}
}
