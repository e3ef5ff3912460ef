package personalize_test

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/marquee-proxy/marquee/internal/personalizetest"
	"github.com/marquee-proxy/marquee/personalize"
	"github.com/marquee-proxy/marquee/profile"
)

// A slot marker on a raw text element would run the offer, escaped as
// HTML text, as script: the page passes through as the origin sent it, and
// the plan error is counted.
func TestRawTextSlotPassesThrough(t *testing.T) {
	page := strings.Replace(slotPage, `<div data-marquee-slot="hero">`, `<div data-marquee-slot="hero">`+"</div><SCRIPT data-marquee-slot=hero>var greeting = 1;</SCRIPT><div>", 1)
	reg := prometheus.NewRegistry()
	env := personalizetest.Start(t, goldConfig, page, personalize.Options{Registry: reg})
	vid := string(env.Pers.Signer().AppendMint(nil))
	env.Store.Update(vid[:personalize.VisitorIDLen], func(p *profile.Profile) error {
		p.Attrs = map[string]any{"tier": "gold", "name": "</script><img src=x onerror=alert(1)>"}
		return nil
	})
	r := env.Proxy.Get(t, "GET", "/", "Cookie: mq_vid="+vid)
	if string(r.Body()) != page {
		t.Errorf("page with a script slot changed:\n%s", r.Body())
	}
	n, err := testutil.GatherAndCount(reg, "marquee_personalize_plan_errors_total")
	if err != nil || n != 1 {
		t.Fatalf("plan errors metric: %d series, %v", n, err)
	}
	mfs, _ := reg.Gather()
	for _, mf := range mfs {
		if mf.GetName() == "marquee_personalize_plan_errors_total" && mf.GetMetric()[0].GetCounter().GetValue() != 1 {
			t.Errorf("plan errors = %v, want 1", mf.GetMetric()[0].GetCounter().GetValue())
		}
	}
}
