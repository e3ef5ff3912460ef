package personalize

import (
	"sync"
	"time"
)

// renderLogEvery is how often a failing offer template is logged per
// campaign; the render_errors_total counter still counts every failure.
const renderLogEvery = time.Minute

// logLimiterKeys bounds the keys a logLimiter remembers, so that campaign
// ids of replaced documents cannot grow it without end.
const logLimiterKeys = 4096

// logLimiter lets through at most one log line per key per interval and
// counts the lines it held back, to report them with the next one.
type logLimiter struct {
	every time.Duration
	mu    sync.Mutex
	keys  map[string]*logKey
}

type logKey struct {
	next       time.Time // when the next line may be logged
	suppressed int       // lines held back since the last one logged
}

func newLogLimiter(every time.Duration) *logLimiter {
	return &logLimiter{every: every, keys: map[string]*logKey{}}
}

// allow reports whether a line about key may be logged at now and, if so,
// how many lines about key were held back since the last one.
func (l *logLimiter) allow(key string, now time.Time) (ok bool, suppressed int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	k := l.keys[key]
	if k == nil {
		if len(l.keys) >= logLimiterKeys {
			for name, old := range l.keys {
				if !now.Before(old.next) {
					delete(l.keys, name) // past its interval: nothing owed but its count
				}
			}
			if len(l.keys) >= logLimiterKeys {
				clear(l.keys)
			}
		}
		k = &logKey{}
		l.keys[key] = k
	}
	if now.Before(k.next) {
		k.suppressed++
		return false, 0
	}
	suppressed, k.suppressed = k.suppressed, 0
	k.next = now.Add(l.every)
	return true, suppressed
}
