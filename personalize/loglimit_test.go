package personalize

import (
	"strconv"
	"testing"
	"time"
)

func TestLogLimiter(t *testing.T) {
	l := newLogLimiter(time.Minute)
	t0 := time.Unix(1000, 0)
	if ok, n := l.allow("a", t0); !ok || n != 0 {
		t.Fatalf("first line: %v %d", ok, n)
	}
	for range 3 {
		if ok, _ := l.allow("a", t0.Add(time.Second)); ok {
			t.Fatal("second line within a minute let through")
		}
	}
	if ok, _ := l.allow("b", t0.Add(time.Second)); !ok {
		t.Fatal("another key held back")
	}
	if ok, n := l.allow("a", t0.Add(time.Minute)); !ok || n != 3 {
		t.Fatalf("a minute later: %v, suppressed %d, want 3", ok, n)
	}
	for i := range 3 * logLimiterKeys {
		l.allow(strconv.Itoa(i), t0.Add(2*time.Minute))
	}
	if len(l.keys) > logLimiterKeys {
		t.Fatalf("%d keys kept, bound %d", len(l.keys), logLimiterKeys)
	}
}
