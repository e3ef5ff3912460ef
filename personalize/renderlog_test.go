package personalize_test

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/marquee-proxy/marquee/internal/personalizetest"
	"github.com/marquee-proxy/marquee/personalize"
	"github.com/marquee-proxy/marquee/profile"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) lines() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.FieldsFunc(l.b.String(), func(r rune) bool { return r == '\n' })
}

// TestRenderErrorsLogRateLimited: a template that fails on every request
// is logged at most once a minute per campaign, the next line saying how
// many were held back, while the counter counts every failure.
func TestRenderErrorsLogRateLimited(t *testing.T) {
	const failing = `campaigns:
  - id: broken
    slot: hero
    template: '{{if .Profile.Attrs.name}}{{index .Profile.Attrs.name 99}}{{end}}'
`
	var logs lockedBuffer
	var mu sync.Mutex
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	reg := prometheus.NewRegistry()
	env := personalizetest.Start(t, failing, slotPage, personalize.Options{
		Logger:   slog.New(slog.NewTextHandler(&logs, nil)),
		Registry: reg,
		Now:      clock,
	})
	vid := string(env.Pers.Signer().AppendMint(nil))
	env.Store.Update(vid[:personalize.VisitorIDLen], func(p *profile.Profile) error {
		p.Attrs = map[string]any{"name": "Ada"}
		return nil
	})
	for range 5 {
		env.Proxy.Get(t, "GET", "/", "Cookie: mq_vid="+vid)
	}
	env.Proxy.Get(t, "GET", "/_marquee/decide?slots=hero", "Cookie: mq_vid="+vid)
	if got := logs.lines(); len(got) != 1 || !strings.Contains(got[0], "campaign=broken") || !strings.Contains(got[0], "suppressed=0") {
		t.Fatalf("after 6 failures within a minute, log lines: %q, want one", got)
	}
	mu.Lock()
	now = now.Add(61 * time.Second)
	mu.Unlock()
	env.Proxy.Get(t, "GET", "/", "Cookie: mq_vid="+vid)
	got := logs.lines()
	if len(got) != 2 || !strings.Contains(got[1], "suppressed=5") {
		t.Fatalf("a minute later, log lines: %q, want a second one with suppressed=5", got)
	}
	if n := counterValue(t, reg, "marquee_personalize_render_errors_total"); n != 7 {
		t.Errorf("render_errors_total %v, want 7", n)
	}
}

func counterValue(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}
