package demo

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// newTestShop serves the shop on a loopback port for the life of the test.
// Its client does not follow redirects, so tests see the 303 of the cart.
func newTestShop(t *testing.T) (*httptest.Server, *http.Client) {
	t.Helper()
	srv := httptest.NewServer(NewShop())
	t.Cleanup(srv.Close)
	c := srv.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return srv, c
}

// fetch sends a request and returns the response with its body read.
func fetch(t *testing.T, c *http.Client, req *http.Request) (*http.Response, string) {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", req.Method, req.URL, err)
	}
	return resp, string(b)
}

func get(t *testing.T, c *http.Client, u string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	return fetch(t, c, req)
}

var (
	slotRE = regexp.MustCompile(`data-marquee-slot="([^"]*)"`)
	csrfRE = regexp.MustCompile(`<meta name="csrf-token" content="([^"]+)">`)
	hrefRE = regexp.MustCompile(`href="(/[^"]*)"`)
)

// slotsOf returns the slot names marked in body, sorted.
func slotsOf(body string) []string {
	var names []string
	for _, m := range slotRE.FindAllStringSubmatch(body, -1) {
		names = append(names, m[1])
	}
	slices.Sort(names)
	return names
}

func TestPages(t *testing.T) {
	srv, c := newTestShop(t)
	const html = "text/html; charset=utf-8"
	tests := []struct {
		path     string
		status   int
		ctype    string
		cache    string
		slots    []string // sorted
		category string   // X-Demo-Category
		contains string
	}{
		{"/", 200, html, "public, max-age=60", []string{"hero", "offer", "recs"}, "", "Featured this week"},
		{"/c/electronics", 200, html, "public, max-age=60", []string{"hero", "recs"}, "electronics", "Aero Wireless Earbuds"},
		{"/c/books", 200, html, "public, max-age=60", []string{"hero", "recs"}, "books", "Nova E-Reader"},
		{"/p/aero-earbuds", 200, html, "public, max-age=60", []string{"offer", "recs"}, "electronics", `action="/cart/add"`},
		{"/p/storm-jacket", 200, html, "public, max-age=60", []string{"offer", "recs"}, "fashion", "$149.00"},
		{"/cart", 200, html, "no-store", []string{"recs"}, "", "Your cart is empty"},
		{"/checkout/complete", 200, html, "no-store", nil, "", "Thank you"},
		{"/c/nope", 404, html, "public, max-age=60", nil, "", "couldn't find"},
		{"/c/", 404, html, "public, max-age=60", nil, "", "couldn't find"},
		{"/p/nope", 404, html, "public, max-age=60", nil, "", "couldn't find"},
		{"/p/aero-earbuds/extra", 404, html, "public, max-age=60", nil, "", "couldn't find"},
		{"/nope", 404, html, "public, max-age=60", nil, "", "couldn't find"},
		{"/healthz", 200, "text/plain; charset=utf-8", "no-store", nil, "", "ok"},
		{"/static/app.css", 200, "text/css; charset=utf-8", "public, max-age=3600", nil, "", ".banner"},
		{"/favicon.ico", 200, "image/svg+xml", "public, max-age=3600", nil, "", "<svg"},
		{"/img/aero-earbuds.svg", 200, "image/svg+xml", "public, max-age=3600", nil, "", "<svg"},
		{"/img/nope.svg", 404, html, "public, max-age=60", nil, "", "couldn't find"},
		{"/img/aero-earbuds", 404, html, "public, max-age=60", nil, "", "couldn't find"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			resp, body := get(t, c, srv.URL+tt.path)
			if resp.StatusCode != tt.status {
				t.Errorf("status: got %d, want %d", resp.StatusCode, tt.status)
			}
			if got := resp.Header.Get("Content-Type"); got != tt.ctype {
				t.Errorf("Content-Type: got %q, want %q", got, tt.ctype)
			}
			if got := resp.Header.Get("Cache-Control"); got != tt.cache {
				t.Errorf("Cache-Control: got %q, want %q", got, tt.cache)
			}
			if got := resp.Header.Get("X-Demo-Category"); got != tt.category {
				t.Errorf("X-Demo-Category: got %q, want %q", got, tt.category)
			}
			if got := slotsOf(body); !slices.Equal(got, tt.slots) {
				t.Errorf("slots: got %q, want %q", got, tt.slots)
			}
			if !strings.Contains(body, tt.contains) {
				t.Errorf("body does not contain %q", tt.contains)
			}
			if tt.ctype == html {
				if !strings.HasPrefix(body, "<!DOCTYPE html>") {
					t.Errorf("body starts %q, want <!DOCTYPE html>", body[:min(len(body), 20)])
				}
				if !csrfRE.MatchString(body) {
					t.Error("no csrf-token meta")
				}
			}
		})
	}
}

// TestSlotFallbacks checks each slot holds real fallback content, so a
// visitor no campaign applies to still sees a finished page.
func TestSlotFallbacks(t *testing.T) {
	srv, c := newTestShop(t)
	_, body := get(t, c, srv.URL+"/")
	for _, want := range []string{
		`<div data-marquee-slot="hero"><div class="banner"><h2>Gear for every season</h2>`,
		`<div data-marquee-slot="offer"><div class="offer"><strong>10% off your first order</strong>`,
		`<div data-marquee-slot="recs"><h2>Popular now</h2>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("home page lacks %q", want)
		}
	}
}

func TestCSRFTokenChanges(t *testing.T) {
	srv, c := newTestShop(t)
	for _, path := range []string{"/", "/p/ridge-tent"} {
		var tokens []string
		for range 2 {
			_, body := get(t, c, srv.URL+path)
			m := csrfRE.FindStringSubmatch(body)
			if m == nil {
				t.Fatalf("%s: no csrf-token meta", path)
			}
			tokens = append(tokens, m[1])
		}
		if tokens[0] == tokens[1] {
			t.Errorf("%s: csrf token %q repeated across requests", path, tokens[0])
		}
	}
}

// TestLinksResolve follows every same-site link from the home page: a person
// clicking around never meets a 404.
func TestLinksResolve(t *testing.T) {
	srv, c := newTestShop(t)
	seen := map[string]bool{"/": true}
	queue := []string{"/"}
	for len(queue) > 0 {
		path := queue[0]
		queue = queue[1:]
		resp, body := get(t, c, srv.URL+path)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s: status %d, want 200", path, resp.StatusCode)
			continue
		}
		for _, m := range hrefRE.FindAllStringSubmatch(body, -1) {
			if !seen[m[1]] {
				seen[m[1]] = true
				queue = append(queue, m[1])
			}
		}
	}
	for _, p := range Products() {
		if !seen[p.URL] {
			t.Errorf("no page links to %s", p.URL)
		}
	}
	for _, cat := range Categories() {
		if !seen["/c/"+cat] {
			t.Errorf("no page links to /c/%s", cat)
		}
	}
}

func TestCart(t *testing.T) {
	srv, c := newTestShop(t)
	var cookie string
	add := func(form url.Values) *http.Response {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, srv.URL+"/cart/add", strings.NewReader(form.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if cookie != "" {
			req.AddCookie(&http.Cookie{Name: cartCookie, Value: cookie})
		}
		resp, _ := fetch(t, c, req)
		for _, ck := range resp.Cookies() {
			if ck.Name == cartCookie {
				cookie = ck.Value
			}
		}
		return resp
	}

	steps := []struct {
		form       url.Values
		status     int
		wantCookie string
	}{
		{url.Values{"product": {"aero-earbuds"}, "qty": {"2"}}, http.StatusSeeOther, "aero-earbuds:2"},
		{url.Values{"product": {"volt-powerbank"}}, http.StatusSeeOther, "aero-earbuds:2|volt-powerbank:1"},
		{url.Values{"product": {"aero-earbuds"}, "qty": {"x"}}, http.StatusSeeOther, "aero-earbuds:3|volt-powerbank:1"},
		{url.Values{"product": {"no-such-thing"}}, http.StatusBadRequest, "aero-earbuds:3|volt-powerbank:1"},
	}
	for _, s := range steps {
		resp := add(s.form)
		if resp.StatusCode != s.status {
			t.Errorf("add %v: status %d, want %d", s.form, resp.StatusCode, s.status)
		}
		if s.status == http.StatusSeeOther {
			if got := resp.Header.Get("Location"); got != "/cart" {
				t.Errorf("add %v: Location %q, want /cart", s.form, got)
			}
		}
		if cookie != s.wantCookie {
			t.Errorf("add %v: cookie %q, want %q", s.form, cookie, s.wantCookie)
		}
	}

	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/cart", nil)
	req.AddCookie(&http.Cookie{Name: cartCookie, Value: cookie})
	_, body := fetch(t, c, req)
	for _, want := range []string{"Aero Wireless Earbuds", "Volt Solar Power Bank", "4 items", "$286.00"} {
		if !strings.Contains(body, want) {
			t.Errorf("cart page lacks %q", want)
		}
	}

	req, _ = http.NewRequest(http.MethodGet, srv.URL+"/checkout/complete", nil)
	req.AddCookie(&http.Cookie{Name: cartCookie, Value: cookie})
	resp, body := fetch(t, c, req)
	if !strings.Contains(body, "$286.00") || !strings.Contains(body, "NW-") {
		t.Errorf("order page lacks the total or order number")
	}
	cleared := false
	for _, ck := range resp.Cookies() {
		cleared = cleared || (ck.Name == cartCookie && ck.MaxAge < 0)
	}
	if !cleared {
		t.Error("checkout did not clear the cart cookie")
	}
}

func TestParseCart(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"", ""},
		{"aero-earbuds:1", "aero-earbuds:1"},
		{"aero-earbuds:1|aero-earbuds:2", "aero-earbuds:3"},
		{"aero-earbuds:500", "aero-earbuds:99"},
		{"unknown:1|aero-earbuds:x|aero-earbuds:-1|:|||ridge-tent:2", "ridge-tent:2"},
		{"<script>:1", ""},
	}
	for _, tt := range tests {
		if got := parseCart(tt.in).String(); got != tt.want {
			t.Errorf("parseCart(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	var long []string
	for _, p := range Products() {
		long = append(long, p.ID+":1")
	}
	if got := len(parseCart(strings.Join(long, "|"))); got != maxCartLines {
		t.Errorf("cart of %d products kept %d lines, want %d", len(long), got, maxCartLines)
	}
}

func TestFormatCents(t *testing.T) {
	tests := []struct {
		in   int64
		want string
	}{{0, "$0.00"}, {5, "$0.05"}, {7900, "$79.00"}, {123456, "$1,234.56"}, {100000000, "$1,000,000.00"}}
	for _, tt := range tests {
		if got := formatCents(tt.in); got != tt.want {
			t.Errorf("formatCents(%d) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// FuzzParseCart feeds arbitrary cookie values to the cart parser: it must
// never panic and must keep its bounds.
func FuzzParseCart(f *testing.F) {
	for _, s := range []string{"", "pulse-watch:1", "pulse-watch:2|aero-earbuds:1", "x:y", "||::", "pulse-watch:99999999999999999999", "pulse-watch:-1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		c := parseCart(v)
		if len(c) > maxCartLines {
			t.Fatalf("cart of %d lines from %q", len(c), v)
		}
		for _, l := range c {
			if l.qty <= 0 || l.qty > maxQty {
				t.Fatalf("quantity %d from %q", l.qty, v)
			}
		}
		if back := parseCart(c.String()); len(back) != len(c) {
			t.Fatalf("round trip of %q: %d lines, want %d", c.String(), len(back), len(c))
		}
	})
}

// TestProductImagesServed: every product's catalog image is an SVG the
// shop serves, and the shop's cards show that same URL.
func TestProductImagesServed(t *testing.T) {
	srv, c := newTestShop(t)
	_, home := get(t, c, srv.URL+"/")
	for _, p := range Products() {
		resp, body := get(t, c, srv.URL+p.Image)
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/svg+xml" {
			t.Errorf("%s: %s: %d %s", p.ID, p.Image, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		if !strings.HasPrefix(body, "<svg ") || !strings.HasSuffix(body, "</svg>") {
			t.Errorf("%s: %s is not an SVG: %.40q", p.ID, p.Image, body)
		}
		if slices.Contains(featuredIDs, p.ID) && !strings.Contains(home, `src="`+p.Image+`"`) {
			t.Errorf("%s: the home page's card does not show %s", p.ID, p.Image)
		}
	}
}
