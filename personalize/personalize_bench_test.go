package personalize

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/marquee-proxy/marquee/internal/proxytest"
	"github.com/marquee-proxy/marquee/profile"
	"github.com/marquee-proxy/marquee/proxy"

	"github.com/valyala/fasthttp"

	"github.com/marquee-proxy/marquee/config"
	"github.com/marquee-proxy/marquee/decide"
	"github.com/marquee-proxy/marquee/decide/stats"
	msync "github.com/marquee-proxy/marquee/sync"
)

// benchConfig fills the three slots of the listing page for gold visitors.
const benchConfig = `segments:
  gold: 'attrs.tier == "gold"'
  fan: 'score("propensity") > 0.5'
campaigns:
  - id: hero
    slot: hero
    when: gold
    template: '<div class="banner"><h2>Welcome back, {{.Profile.Attrs.name}}</h2></div>'
  - id: offer
    slot: offer
    when: fan
    template: '<p class="offer">Free shipping for you, {{.Profile.Attrs.name}}</p>'
  - id: recs
    slot: recs
    when: gold and fan
    template: '<ul><li>{{.Profile.Attrs.city}} picks</li></ul>'
`

const benchVisitors = 1024

// benchPersonalizer returns a personaliser over an in-memory store holding
// benchVisitors gold profiles, and their cookies.
func benchPersonalizer(b testing.TB) (*Personalizer, []string) {
	b.Helper()
	cfg, err := config.Parse("bench.yaml", []byte("origin: http://127.0.0.1:1\n"+benchConfig))
	if err != nil {
		b.Fatal(err)
	}
	snap, err := Compile(cfg)
	if err != nil {
		b.Fatal(err)
	}
	st, err := msync.Open(msync.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	p, err := New(Options{Snapshot: snap, Store: st, Keys: [][]byte{[]byte("bench-key-0123456789abcdef")}, Recorder: stats.NewRecorder(stats.Config{})})
	if err != nil {
		b.Fatal(err)
	}
	cookies := make([]string, benchVisitors)
	for i := range cookies {
		cookies[i] = string(p.Signer().AppendMint(nil))
		name := fmt.Sprintf("Visitor %d", i)
		if _, err := st.Update(cookies[i][:VisitorIDLen], func(pr *profile.Profile) error {
			pr.Attrs = map[string]any{"tier": "gold", "name": name, "city": "Lyon"}
			pr.Scores = map[string]float64{"propensity": 0.9}
			return nil
		}); err != nil {
			b.Fatal(err)
		}
	}
	return p, cookies
}

// BenchmarkPersonalizeListing61k compares, in one run, the 61 KB listing
// page (3 slots) passed through the proxy with no rewrite stage against the
// same page personalised for visitors with stored profiles (plan-cache
// hit). The ratio of their ns/op is the personalisation overhead.
func BenchmarkPersonalizeListing61k(b *testing.B) {
	page := proxytest.BenchPage(b)
	p, cookies := benchPersonalizer(b)
	for _, bc := range []struct {
		name string
		rw   proxy.Rewriter
	}{{"passthrough", nil}, {"personalized", p}} {
		b.Run(bc.name, func(b *testing.B) {
			runVisitors(b, benchProxy(b, page, bc.rw), cookies, len(page))
		})
	}
}

// runVisitors GETs the listing through client in parallel, each request
// with the next of cookies; each answer must be 200.
func runVisitors(b *testing.B, client *fasthttp.HostClient, cookies []string, pageLen int) {
	var next atomic.Uint64
	b.ReportAllocs()
	b.SetBytes(int64(pageLen))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
		defer fasthttp.ReleaseRequest(req)
		defer fasthttp.ReleaseResponse(resp)
		req.SetRequestURI("http://shop.test/listing")
		for pb.Next() {
			req.Header.SetCookie("mq_vid", cookies[next.Add(1)%benchVisitors])
			if err := client.Do(req, resp); err != nil {
				b.Error(err)
				return
			}
			if resp.StatusCode() != 200 {
				b.Errorf("status %d", resp.StatusCode())
				return
			}
		}
	})
}

// benchProxy runs a proxy with rewrite stage rw in front of an origin
// serving page, both in memory, and returns a client for the proxy.
func benchProxy(b *testing.B, page []byte, rw proxy.Rewriter) *fasthttp.HostClient {
	dial, _ := proxytest.InmemoryOrigin(b, proxytest.PageHandler(page, ""))
	s, err := proxy.New(proxy.Options{Origins: []string{"http://origin.test"}, Dial: dial, Rewriter: rw})
	if err != nil {
		b.Fatal(err)
	}
	return proxytest.ServeInmemory(b, s)
}

// BenchmarkPersonalizeStages times each stage of one personalised request
// on its own, for the per-stage breakdown.
func BenchmarkPersonalizeStages(b *testing.B) {
	page := proxytest.BenchPage(b)
	p, cookies := benchPersonalizer(b)
	snap := p.Snapshot()
	plan, err := snap.Compiler.Plan(page, "text/html; charset=utf-8")
	if err != nil || plan.NumSlots() != 3 {
		b.Fatalf("plan: %v, %d slots", err, plan.NumSlots())
	}
	cookie := []byte(cookies[0])
	id := cookie[:VisitorIDLen]
	prof, _ := p.store.GetBytes(id)
	now := time.Now()
	slots := []string{plan.Slot(0).Name, plan.Slot(1).Name, plan.Slot(2).Name}

	b.Run("identify", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, ok := p.signer.Verify(cookie); !ok {
				b.Fatal("verify")
			}
		}
	})
	b.Run("plan-lookup", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := snap.Compiler.Plan(page, "text/html; charset=utf-8"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("profile-lookup", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if pr, _ := p.store.GetBytes(id); pr == nil {
				b.Fatal("no profile")
			}
		}
	})
	b.Run("decide-3-slots", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			d := snap.Engine.Acquire(prof, id, now)
			for _, s := range slots {
				if _, ok := d.Choose(s); !ok {
					b.Fatal("no campaign")
				}
			}
			d.Release()
		}
	})
	b.Run("render-3-offers", func(b *testing.B) {
		d := snap.Engine.Acquire(prof, id, now)
		defer d.Release()
		var buf []byte
		var chosen [3]decide.Choice
		for i, s := range slots {
			chosen[i], _ = d.Choose(s)
		}
		b.ReportAllocs()
		for b.Loop() {
			buf = buf[:0]
			for _, c := range chosen {
				if buf, err = d.AppendOffer(buf, c); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	b.Run("splice", func(b *testing.B) {
		offers := [][]byte{[]byte("<b>one</b>"), []byte("<b>two</b>"), []byte("<b>three</b>")}
		dst := make([]byte, 0, len(page)+1024)
		b.ReportAllocs()
		b.SetBytes(int64(len(page)))
		for b.Loop() {
			dst = plan.AppendSplice(dst[:0], page, offers)
		}
	})
}
