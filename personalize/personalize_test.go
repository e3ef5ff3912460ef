package personalize_test

import (
	"bytes"
	"fmt"
	"strings"
	stdsync "sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/marquee-proxy/marquee/personalize"
	"github.com/marquee-proxy/marquee/profile"
)

func TestPersonalizeEndToEnd(t *testing.T) {
	env := startPersonalized(t, goldConfig, slotPage)

	// First visit: a cookie is minted, the page is the origin's, private.
	r1 := env.Proxy.Get(t, "GET", "/")
	if got := string(r1.Body()); got != slotPage {
		t.Fatalf("first visit body differs from the origin's:\n%s", got)
	}
	vid := cookieValue(t, r1, "mq_vid")
	if len(vid) != personalize.CookieValueLen {
		t.Fatalf("minted cookie %q", vid)
	}
	raw := string(r1.Header.Peek("Set-Cookie"))
	for _, want := range []string{"HttpOnly", "SameSite=Lax", "path=/", "max-age="} {
		if !strings.Contains(strings.ToLower(raw), strings.ToLower(want)) {
			t.Errorf("Set-Cookie %q lacks %s", raw, want)
		}
	}
	if cc := string(r1.Header.Peek("Cache-Control")); cc != "private, max-age=60" && cc != "private" && !strings.Contains(cc, "private") {
		t.Errorf("Cache-Control %q, want private", cc)
	}
	if strings.Contains(string(r1.Header.Peek("Cache-Control")), "public") {
		t.Errorf("Cache-Control %q still public", r1.Header.Peek("Cache-Control"))
	}

	id := vid[:personalize.VisitorIDLen]
	if _, err := env.Store.Update(id, func(p *profile.Profile) error {
		p.Attrs = map[string]any{"tier": "gold", "name": "<script>alert(1)</script>"}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	r2 := env.Proxy.Get(t, "GET", "/", "Cookie: mq_vid="+vid)
	offer := "<b>Hello &lt;script&gt;alert(1)&lt;/script&gt;, gold offer</b>"
	want := strings.Replace(slotPage, `<a href="/sale">Free shipping</a>`, offer, 1)
	if got := string(r2.Body()); got != want {
		t.Fatalf("personalised body:\n%s\nwant:\n%s", got, want)
	}
	if c := cookieValue(t, r2, "mq_vid"); c != "" {
		t.Errorf("a valid cookie was replaced by %q", c)
	}
	if len(r2.Header.Peek("ETag")) != 0 || !strings.Contains(string(r2.Header.Peek("Vary")), "Cookie") {
		t.Errorf("personalised headers: ETag %q, Vary %q", r2.Header.Peek("ETag"), r2.Header.Peek("Vary"))
	}

	// Forged, truncated and oversized cookies are replaced, never a 5xx.
	for _, bad := range []string{vid[:len(vid)-1], vid + "x", strings.Repeat("A", 4000), "a.b.c", flipLast(vid)} {
		r := env.Proxy.Get(t, "GET", "/", "Cookie: mq_vid="+bad)
		if r.StatusCode() != 200 || string(r.Body()) != slotPage {
			t.Errorf("cookie %.40q: status %d, personalised or changed body", bad, r.StatusCode())
		}
		if c := cookieValue(t, r, "mq_vid"); len(c) != personalize.CookieValueLen || c[:personalize.VisitorIDLen] == id {
			t.Errorf("cookie %.40q: replaced by %q", bad, c)
		}
	}
}

func flipLast(s string) string {
	b := []byte(s)
	if b[len(b)-1] == 'A' {
		b[len(b)-1] = 'B'
	} else {
		b[len(b)-1] = 'A'
	}
	return string(b)
}

func TestPersonalizeConsentAndNoSlots(t *testing.T) {
	env := startPersonalized(t, goldConfig, slotPage)
	vid := string(env.Pers.Signer().AppendMint(nil))
	no := false
	env.Store.Update(vid[:personalize.VisitorIDLen], func(p *profile.Profile) error {
		p.Attrs = map[string]any{"tier": "gold", "name": "Ada"}
		p.Consent.Personalization = &no
		return nil
	})
	r := env.Proxy.Get(t, "GET", "/", "Cookie: mq_vid="+vid)
	if string(r.Body()) != slotPage {
		t.Error("a visitor who refused personalisation got an offer")
	}

	plain := startPersonalized(t, goldConfig, "<html><body><p>no slots here</p></body></html>")
	r = plain.Proxy.Get(t, "GET", "/")
	if string(r.Body()) != "<html><body><p>no slots here</p></body></html>" {
		t.Errorf("page without slots changed: %q", r.Body())
	}
	if cc := string(r.Header.Peek("Cache-Control")); cc != "public, max-age=60" || string(r.Header.Peek("ETag")) != `"v1"` {
		t.Errorf("page without slots lost its caching headers: Cache-Control %q, ETag %q", cc, r.Header.Peek("ETag"))
	}
	if len(r.Header.Peek("Set-Cookie")) != 0 {
		t.Error("a page without slots set a cookie")
	}
}

// TestPersonalizeConcurrentVisitors runs thousands of visitors with
// distinct offers in parallel: no response may carry another's offer.
func TestPersonalizeConcurrentVisitors(t *testing.T) {
	env := startPersonalized(t, `campaigns:
  - id: named
    slot: hero
    template: '<b id="offer">{{.Profile.Attrs.token}}</b>'
  - id: named-offer
    slot: offer
    template: '<i>{{.Profile.Attrs.token}}</i>'
`, slotPage)
	const visitors = 2000
	cookies := make([]string, visitors)
	for i := range cookies {
		cookies[i] = string(env.Pers.Signer().AppendMint(nil))
		tok := fmt.Sprintf("tok-%05d", i)
		if _, err := env.Store.Update(cookies[i][:personalize.VisitorIDLen], func(p *profile.Profile) error {
			p.Attrs = map[string]any{"token": tok}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	c := &fasthttp.HostClient{Addr: env.Proxy.Addr, MaxConns: 64, ReadTimeout: 10 * time.Second}
	const workers = 16
	var (
		wg     stdsync.WaitGroup
		filled atomic.Int64
	)
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			defer fasthttp.ReleaseRequest(req)
			defer fasthttp.ReleaseResponse(resp)
			for i := w; i < visitors; i += workers {
				req.Reset()
				req.SetRequestURI("http://" + env.Proxy.Addr + "/")
				req.Header.SetCookie("mq_vid", cookies[i])
				if err := c.DoTimeout(req, resp, 10*time.Second); err != nil {
					errs <- err
					return
				}
				body := resp.Body()
				tok := fmt.Sprintf("tok-%05d", i)
				// Never another visitor's offer. A slot may keep its
				// fallback when a starved machine runs a rendering past its
				// time limit; that fails open, and is rare.
				own, all := bytes.Count(body, []byte(tok)), bytes.Count(body, []byte("tok-"))
				if own != all || own > 2 {
					errs <- fmt.Errorf("visitor %d got a body with the wrong offers: %q", i, body)
					return
				}
				if own == 2 {
					filled.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if n := filled.Load(); n < visitors*95/100 {
		t.Fatalf("%d of %d visitors got both their offers, want at least 95%%", n, visitors)
	}
}
