package cache

import (
	"fmt"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestAppendKey(t *testing.T) {
	c := newTestCache(t, Options{IgnoreQuery: []string{"utm_*", "gclid", "fbclid"}})
	tests := []struct {
		name   string
		tls    bool
		host   string
		target string
		want   string
	}{
		{"plain", false, "Shop.Example", "/p/1", "http://shop.example/p/1"},
		{"tls", true, "shop.example:8443", "/", "https://shop.example:8443/"},
		{"query kept in order", false, "h", "/s?b=2&a=1", "http://h/s?b=2&a=1"},
		{"ignored removed", false, "h", "/s?utm_source=x&b=2&gclid=9&a=1&utm_medium=y", "http://h/s?b=2&a=1"},
		{"only ignored", false, "h", "/s?utm_source=x&fbclid=1", "http://h/s"},
		{"escaped name", false, "h", "/s?utm%5Fsource=x&a=1", "http://h/s?a=1"},
		{"prefix needs its whole prefix", false, "h", "/s?utm=1", "http://h/s?utm=1"},
		{"empty pairs dropped", false, "h", "/s?a=1&&b", "http://h/s?a=1&b"},
		{"value that looks ignored kept", false, "h", "/s?q=gclid", "http://h/s?q=gclid"},
		{"pair with ; kept", false, "h", "/s?utm_source=x;page=evil&utm_medium=y", "http://h/s?utm_source=x;page=evil"},
		{"ignored name after ; kept", false, "h", "/s?a=1;utm_source=x", "http://h/s?a=1;utm_source=x"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := string(c.AppendKey(nil, tc.tls, []byte(tc.host), []byte(tc.target))); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestNewRefuses(t *testing.T) {
	tests := []struct {
		name string
		o    Options
	}{
		{"no size", Options{}},
		{"bad pattern", Options{MaxSize: 1 << 20, IgnoreQuery: []string{"a*b"}}},
		{"star alone", Options{MaxSize: 1 << 20, IgnoreQuery: []string{"*"}}},
		{"negative stale", Options{MaxSize: 1 << 20, StaleIfError: -time.Second}},
	}
	for _, tc := range tests {
		if _, err := New(tc.o); err == nil {
			t.Errorf("%s: New accepted %+v", tc.name, tc.o)
		}
	}
}

func TestVary(t *testing.T) {
	c := newTestCache(t, Options{})
	const url = "http://h/p"
	gz := reqOf("Accept-Encoding: gzip")
	br := reqOf("Accept-Encoding: br")
	store(t, c, url, gz, respOf(200, "Cache-Control: max-age=60", "Vary: Accept-Encoding", "Content-Encoding: gzip"))
	store(t, c, url, br, respOf(200, "Cache-Control: max-age=60", "Vary: Accept-Encoding", "Content-Encoding: br"))
	tests := []struct {
		req  fakeReq
		want string
	}{
		{gz, "gzip"},
		{br, "br"},
		{reqOf("Accept-Encoding:  gzip "), "gzip"},
		{reqOf(), ""},
		{reqOf("Accept-Encoding: gzip, br"), ""},
	}
	for _, tc := range tests {
		e, _ := c.Lookup([]byte(url), tc.req, nil)
		got := ""
		if e != nil {
			for _, f := range e.Fields() {
				if string(f.Name) == "Content-Encoding" {
					got = string(f.Value)
				}
			}
		}
		if got != tc.want {
			t.Errorf("%v: got variant %q, want %q", tc.req, got, tc.want)
		}
	}
	// A response in identity without Vary is one more variant of an
	// Accept-Encoding marker: origins that compress without Vary send
	// just that (coding.go).
	store(t, c, url, reqOf(), respOf(200, "Cache-Control: max-age=60"))
	if e, _ := c.Lookup([]byte(url), br, nil); e == nil || len(e.Fields()) != 4 {
		t.Errorf("br after a response in identity: got %+v, want the br variant", e)
	}
	ident, _ := c.Lookup([]byte(url), reqOf(), nil)
	if ident == nil || len(ident.Fields()) != 2 {
		t.Fatalf("identity after a response in identity: got %+v, want it", ident)
	}
	// A 304 refreshes that variant like any other.
	nm := &Response{Status: 304, RequestTime: t0, ResponseTime: t0, Fields: []Field{{Name: []byte("Cache-Control"), Value: []byte("max-age=60")}}}
	if e := c.Refresh(ident, reqOf(), nm); e == nil {
		t.Error("a 304 dropped the variant in identity")
	}
	// A response without Vary replaces variants on other fields.
	const lang = "http://h/lang"
	store(t, c, lang, reqOf("X-Lang: en"), respOf(200, "Cache-Control: max-age=60", "Vary: X-Lang"))
	store(t, c, lang, reqOf("X-Lang: fr"), respOf(200, "Cache-Control: max-age=60"))
	if e, _ := c.Lookup([]byte(lang), reqOf("X-Lang: en"), nil); e == nil || len(e.vary) != 0 {
		t.Errorf("after a response without Vary: got %+v, want the plain entry", e)
	}
}

// TestVaryContentCoding: a coded response varies on the codings the
// request accepts, whether or not the origin sent Vary (nginx's gzip_vary
// is off by default), so a client that cannot read gzip never gets it.
func TestVaryContentCoding(t *testing.T) {
	tests := []struct {
		name   string
		stored []string // response fields beside Cache-Control
		req    string   // Accept-Encoding of the request that stored it
		ask    string   // Accept-Encoding of a later request
		want   bool     // the later request is answered by the entry
	}{
		{"gzip without Vary, same field", []string{"Content-Encoding: gzip"}, "gzip", "gzip", true},
		{"gzip without Vary, no field", []string{"Content-Encoding: gzip"}, "gzip", "", false},
		{"gzip without Vary, identity only", []string{"Content-Encoding: gzip"}, "gzip", "identity", false},
		{"gzip without Vary, gzip refused", []string{"Content-Encoding: gzip"}, "gzip", "gzip;q=0, deflate", false},
		{"spelling does not matter", []string{"Content-Encoding: gzip"}, "gzip, deflate, br", "BR;q=0.5,deflate , x-gzip", true},
		{"the set of codings does", []string{"Content-Encoding: gzip"}, "gzip, deflate, br", "gzip, deflate, br, zstd", false},
		{"star", []string{"Content-Encoding: br"}, "*", "gzip, deflate, br, zstd", true},
		{"Vary: Accept-Encoding normalised too", []string{"Vary: Accept-Encoding"}, "gzip, br", "br, gzip;q=0.9", true},
		{"identity without Vary answers all", nil, "gzip", "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newTestCache(t, Options{})
			const url = "http://h/s.css"
			store(t, c, url, reqOf("Accept-Encoding: "+tc.req), respOf(200, append([]string{"Cache-Control: max-age=60"}, tc.stored...)...))
			e, _ := c.Lookup([]byte(url), reqOf("Accept-Encoding: "+tc.ask), nil)
			if got := e != nil; got != tc.want {
				t.Errorf("Accept-Encoding %q after %q: found %v, want %v", tc.ask, tc.req, got, tc.want)
			}
		})
	}
}

// multiReq is a request header with fields sent more than once.
type multiReq map[string][]string

func (r multiReq) Peek(key string) []byte {
	if v := r[key]; len(v) > 0 {
		return []byte(v[0])
	}
	return nil
}

func (r multiReq) PeekAll(key string) [][]byte {
	var out [][]byte
	for _, v := range r[key] {
		out = append(out, []byte(v))
	}
	return out
}

// TestVaryRepeatedField: a field sent twice is one list of both values
// (RFC 9110 §5.3), so it must not share a variant with its first value.
func TestVaryRepeatedField(t *testing.T) {
	c := newTestCache(t, Options{})
	const url = "http://h/p"
	r := respOf(200, "Cache-Control: max-age=60", "Vary: X-Lang, Accept-Encoding")
	e, _ := c.Admit([]byte(url), multiReq{"X-Lang": {"en", "fr"}, "Accept-Encoding": {"gzip"}}, r)
	c.Put(e)
	tests := []struct {
		name string
		req  multiReq
		want bool
	}{
		{"both values", multiReq{"X-Lang": {"en", "fr"}, "Accept-Encoding": {"gzip"}}, true},
		{"both in one field", multiReq{"X-Lang": {"en, fr"}, "Accept-Encoding": {"gzip"}}, true},
		{"the first value alone", multiReq{"X-Lang": {"en"}, "Accept-Encoding": {"gzip"}}, false},
		{"a second Accept-Encoding adds a coding", multiReq{"X-Lang": {"en", "fr"}, "Accept-Encoding": {"gzip", "br"}}, false},
	}
	for _, tc := range tests {
		if got, _ := c.Lookup([]byte(url), tc.req, nil); (got != nil) != tc.want {
			t.Errorf("%s: found %v, want %v", tc.name, got != nil, tc.want)
		}
	}
}

// TestRequestNoStore: no response to a request with Cache-Control
// no-store is stored (RFC 9111 §5.2.1.5), though a stored one answers it.
func TestRequestNoStore(t *testing.T) {
	c := newTestCache(t, Options{})
	for _, cc := range []string{"no-store", "max-age=0, No-Store", "no-store=\"x\""} {
		req := reqOf("Cache-Control: " + cc)
		if e, why := c.Admit([]byte("http://h/"), req, respOf(200, "Cache-Control: max-age=60")); e != nil || why != ReasonNoStore {
			t.Errorf("Admit with %q: got an entry %v, %q; want none, %q", cc, e != nil, why, ReasonNoStore)
		}
		if why := c.Precheck(req, respOf(200, "Cache-Control: max-age=60")); why != ReasonNoStore {
			t.Errorf("Precheck with %q: got %q, want %q", cc, why, ReasonNoStore)
		}
	}
	old := store(t, c, "http://h/", reqOf(), respOf(200, "Cache-Control: max-age=0", `ETag: "a"`))
	nm := &Response{Status: 304, RequestTime: t0, ResponseTime: t0, Fields: []Field{{Name: []byte("Cache-Control"), Value: []byte("max-age=60")}}}
	if e := c.Refresh(old, reqOf("Cache-Control: no-store"), nm); e == nil || e.Freshness(t0.UnixNano()) != Fresh {
		t.Errorf("Refresh for a no-store request: got %v, want a fresh entry to answer it", e)
	}
	if got, _ := c.Lookup([]byte("http://h/"), reqOf(), nil); got != old {
		t.Error("Refresh for a no-store request replaced the stored entry")
	}
}

func TestVaryBoundsAndDropsVariants(t *testing.T) {
	c := newTestCache(t, Options{})
	const url = "http://h/ua"
	for i := range maxVariants + 4 {
		store(t, c, url, reqOf("User-Agent: ua"+strconv.Itoa(i)), respOf(200, "Cache-Control: max-age=60", "Vary: User-Agent"))
	}
	c.store.CleanUp()
	found := 0
	for i := range maxVariants + 4 {
		if e, _ := c.Lookup([]byte(url), reqOf("User-Agent: ua"+strconv.Itoa(i)), nil); e != nil {
			found++
			if i < 4 {
				t.Errorf("variant %d, among the oldest, is still stored", i)
			}
		}
	}
	if found != maxVariants {
		t.Errorf("variants found: got %d, want %d", found, maxVariants)
	}
	if got := c.Len(); got != maxVariants+1 {
		t.Errorf("entries: got %d, want %d variants and the marker", got, maxVariants+1)
	}
	// The response stops varying: the variants go with the marker.
	store(t, c, url, reqOf(), respOf(200, "Cache-Control: max-age=60"))
	c.store.CleanUp()
	if got := c.Len(); got != 1 {
		t.Errorf("entries after Vary went away: got %d, want 1", got)
	}
}

func TestInvalidate(t *testing.T) {
	c := newTestCache(t, Options{})
	store(t, c, "http://h/plain", reqOf(), respOf(200, "Cache-Control: max-age=60"))
	for _, lang := range []string{"en", "fr"} {
		store(t, c, "http://h/varied", reqOf("X-Lang: "+lang), respOf(200, "Cache-Control: max-age=60", "Vary: X-Lang"))
	}
	c.Invalidate([]byte("http://h/plain"))
	c.Invalidate([]byte("http://h/varied"))
	c.Invalidate([]byte("http://h/never-stored"))
	c.store.CleanUp()
	if got := c.Len(); got != 0 {
		t.Errorf("entries left: got %d, want 0", got)
	}
}

func TestLookupAuthorization(t *testing.T) {
	c := newTestCache(t, Options{})
	store(t, c, "http://h/a", reqOf(), respOf(200, "Cache-Control: max-age=60"))
	store(t, c, "http://h/b", reqOf(), respOf(200, "Cache-Control: public, max-age=60"))
	auth := reqOf("Authorization: Bearer x")
	if e, _ := c.Lookup([]byte("http://h/a"), auth, nil); e != nil {
		t.Error("an entry without public or s-maxage answered a request with Authorization")
	}
	if e, _ := c.Lookup([]byte("http://h/b"), auth, nil); e == nil {
		t.Error("a public entry did not answer a request with Authorization")
	}
}

func TestEntryKeepsFields(t *testing.T) {
	c := newTestCache(t, Options{})
	e := store(t, c, "http://h/", reqOf(), respOf(200, "Cache-Control: max-age=60", "Age: 3", "Content-Length: 5",
		"Surrogate-Key: a b", "Cache-Tag: c,a", "X-Mine: 1"))
	var names []string
	for _, f := range e.Fields() {
		names = append(names, string(f.Name))
	}
	if got, want := fmt.Sprint(names), "[Cache-Control X-Mine Date]"; got != want {
		t.Errorf("fields: got %s, want %s", got, want)
	}
	if got, want := fmt.Sprint(e.Tags()), "[a b c]"; got != want {
		t.Errorf("tags: got %s, want %s", got, want)
	}
}

func TestRefresh(t *testing.T) {
	c := newTestCache(t, Options{})
	r := respOf(200, "Cache-Control: max-age=10", `ETag: "v1"`, "X-Old: 1", "Surrogate-Key: t")
	r.Body = []byte("body")
	old := store(t, c, "http://h/", reqOf(), r)
	old.SetValue("plan")
	later := t0.Add(time.Minute)
	nm := &Response{Status: 304, RequestTime: later, ResponseTime: later, Fields: []Field{
		{Name: []byte("Cache-Control"), Value: []byte("max-age=30")},
		{Name: []byte("Date"), Value: []byte(httpDate(later))},
		{Name: []byte("Content-Length"), Value: []byte("0")},
	}}
	e := c.Refresh(old, reqOf(), nm)
	if e == nil {
		t.Fatal("Refresh dropped the entry")
	}
	if got := e.Freshness(later.Add(29 * time.Second).UnixNano()); got != Fresh {
		t.Errorf("refreshed freshness: got %v, want fresh", got)
	}
	if string(e.Body()) != "body" || e.Value() != "plan" || e.Status() != 200 || len(e.Tags()) != 1 {
		t.Errorf("refreshed entry lost body, value, status or tags: %+v", e)
	}
	if got, _ := c.Lookup([]byte("http://h/"), reqOf(), nil); got != e {
		t.Error("the refreshed entry is not what is stored")
	}
	// Validated answers with the update and stores nothing.
	if v := c.Validated(e, reqOf(), nm); v == nil || v == e || string(v.Body()) != "body" {
		t.Errorf("Validated: got %+v, want a new entry with the body", v)
	}
	if got, _ := c.Lookup([]byte("http://h/"), reqOf(), nil); got != e {
		t.Error("Validated replaced the stored entry")
	}
	// A 304 that makes the response private drops it.
	nm.Fields = append(nm.Fields, Field{Name: []byte("Cache-Control"), Value: []byte("private")})
	if got := c.Refresh(e, reqOf(), nm); got != nil {
		t.Error("a 304 adding private kept the entry")
	}
	if got, _ := c.Lookup([]byte("http://h/"), reqOf(), nil); got != nil {
		t.Error("the entry made private is still stored")
	}
}

// TestRefreshWithoutDate refreshes an entry with a 304 that has no Date:
// the stored Date must not make the refreshed response old.
func TestRefreshWithoutDate(t *testing.T) {
	c := newTestCache(t, Options{})
	old := store(t, c, "http://h/", reqOf(), respOf(200, "Cache-Control: max-age=60", `ETag: "a"`))
	later := t0.Add(2 * time.Minute)
	nm := &Response{Status: 304, RequestTime: later, ResponseTime: later, Fields: []Field{{Name: []byte("ETag"), Value: []byte(`"a"`)}}}
	e := c.Refresh(old, reqOf(), nm)
	if e == nil {
		t.Fatal("Refresh dropped the entry")
	}
	if got := e.Freshness(later.Add(time.Second).UnixNano()); got != Fresh {
		t.Errorf("a second after the 304: got %v, age %d s; want fresh", got, e.Age(later.Add(time.Second).UnixNano()))
	}
	if got := e.Fetched(); !got.Equal(later) {
		t.Errorf("Fetched: got %v, want the 304's request time %v", got, later)
	}
}

func TestPurge(t *testing.T) {
	urls := []struct{ url, tags string }{
		{"http://a.example/p/1", "product p1"},
		{"http://a.example/p/2?color=red", "product"},
		{"https://a.example/p/1", ""},
		{"http://b.example/p/1", "p1"},
		{"http://b.example/c/shoes", "category"},
	}
	before := t0.Add(time.Second)
	tests := []struct {
		name string
		p    Purge
		want []string // what is left
	}{
		{"absolute URL: its scheme and host", Purge{URLs: []string{"http://A.example/p/1"}, At: before},
			[]string{"http://a.example/p/2?color=red", "https://a.example/p/1", "http://b.example/p/1", "http://b.example/c/shoes"}},
		{"path: every host", Purge{URLs: []string{"/p/1"}, At: before},
			[]string{"http://a.example/p/2?color=red", "http://b.example/c/shoes"}},
		{"URL with ignored parameters", Purge{URLs: []string{"/p/2?utm_source=x&color=red"}, At: before},
			[]string{"http://a.example/p/1", "https://a.example/p/1", "http://b.example/p/1", "http://b.example/c/shoes"}},
		{"absolute prefix", Purge{Prefixes: []string{"http://a.example/p/"}, At: before},
			[]string{"https://a.example/p/1", "http://b.example/p/1", "http://b.example/c/shoes"}},
		{"path prefix", Purge{Prefixes: []string{"/p/"}, At: before},
			[]string{"http://b.example/c/shoes"}},
		{"tag", Purge{Tags: []string{"p1"}, At: before},
			[]string{"http://a.example/p/2?color=red", "https://a.example/p/1", "http://b.example/c/shoes"}},
		{"all", Purge{All: true, At: before}, nil},
		{"nothing fetched before At", Purge{All: true, At: t0}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newTestCache(t, Options{IgnoreQuery: []string{"utm_*"}})
			for _, u := range urls {
				store(t, c, u.url, reqOf(), respOf(200, "Cache-Control: max-age=60", "Surrogate-Key: "+u.tags))
			}
			n := c.Purge(tc.p)
			want := tc.want
			if tc.name == "nothing fetched before At" {
				want = nil
				for _, u := range urls {
					want = append(want, u.url)
				}
			}
			if got := len(urls) - len(want); n != got {
				t.Errorf("Purge returned %d, want %d", n, got)
			}
			var left []string
			for _, u := range urls {
				if e, _ := c.Lookup([]byte(u.url), reqOf(), nil); e != nil {
					left = append(left, u.url)
				}
			}
			if fmt.Sprint(left) != fmt.Sprint(want) {
				t.Errorf("left: got %q, want %q", left, want)
			}
		})
	}
}

func TestPurgeCatchesFetchInFlight(t *testing.T) {
	tests := []struct {
		name     string
		received time.Duration // after t0, when the request was sent
	}{
		{"received before the purge", 0},
		// The origin was still rendering the old page when the purge ran.
		{"requested before, received after the purge", 2 * time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newTestCache(t, Options{})
			r := respOf(200, "Cache-Control: max-age=60")
			r.ResponseTime = t0.Add(tc.received)
			e, _ := c.Admit([]byte("http://h/p"), reqOf(), r)
			c.Purge(Purge{URLs: []string{"/p"}, At: t0.Add(time.Second)})
			c.Put(e) // the fetch lands after the purge
			if got, _ := c.Lookup([]byte("http://h/p"), reqOf(), nil); got != nil {
				t.Error("an entry requested before a purge was stored after it")
			}
		})
	}
	c := newTestCache(t, Options{})
	c.Purge(Purge{URLs: []string{"/p"}, At: t0.Add(time.Second)})
	late := respOf(200, "Cache-Control: max-age=60")
	late.RequestTime, late.ResponseTime = t0.Add(2*time.Second), t0.Add(2*time.Second)
	store(t, c, "http://h/p", reqOf(), late)
	if got, _ := c.Lookup([]byte("http://h/p"), reqOf(), nil); got == nil {
		t.Error("an entry fetched after the purge was not stored")
	}
}

// TestPurgeConcurrentWithHits runs purges, stores and hits together; run
// it with -race.
func TestPurgeConcurrentWithHits(t *testing.T) {
	c := newTestCache(t, Options{MaxSize: 4 << 20})
	const urls = 200
	deadline := time.Now().Add(500 * time.Millisecond)
	var wg sync.WaitGroup
	var hits atomic.Int64
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var key []byte
			for i := 0; i < 20000 && time.Now().Before(deadline); i++ {
				u := "http://h/p/" + strconv.Itoa((i*7+g)%urls)
				if e, _ := c.Lookup([]byte(u), reqOf(), key); e != nil {
					_ = e.Body()
					_ = e.Value()
					hits.Add(1)
					continue
				}
				r := respOf(200, "Cache-Control: max-age=60", "Surrogate-Key: t"+strconv.Itoa(i%5))
				r.ResponseTime = time.Now()
				r.RequestTime = r.ResponseTime
				r.Body = make([]byte, 1000)
				if e, _ := c.Admit([]byte(u), reqOf(), r); e != nil {
					e.SetValue(i)
					c.Put(e)
				}
			}
		}()
	}
	for g := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 2000 && time.Now().Before(deadline); i++ {
				switch (i + g) % 3 {
				case 0:
					c.Purge(Purge{Tags: []string{"t" + strconv.Itoa(i%5)}, At: time.Now()})
				case 1:
					c.Purge(Purge{Prefixes: []string{"/p/1"}, At: time.Now()})
				default:
					c.Purge(Purge{All: true, At: time.Now()})
				}
			}
		}()
	}
	wg.Wait()
	if hits.Load() == 0 {
		t.Log("no hits: the purges won every race")
	}
}

func TestCollapse(t *testing.T) {
	c := newTestCache(t, Options{CollapseWait: 5 * time.Second})
	f, leader := c.Join([]byte("http://h/"))
	if !leader {
		t.Fatal("first Join does not lead")
	}
	const waiters = 10
	var wg sync.WaitGroup
	var landed atomic.Int64
	for range waiters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			g, lead := c.Join([]byte("http://h/"))
			if lead {
				t.Error("a second Join leads")
				return
			}
			if g != f {
				t.Error("a waiter joined another flight")
			}
			if c.Wait(g) {
				landed.Add(1)
			}
		}()
	}
	// Wait until all have joined: each counts as collapsed.
	for i := 0; i < 500 && counterValue(c.metrics.collapsed) < waiters; i++ {
		time.Sleep(2 * time.Millisecond)
	}
	c.Land(f)
	c.Land(f) // idempotent
	wg.Wait()
	if landed.Load() != waiters {
		t.Errorf("%d waiters saw the flight land, want %d", landed.Load(), waiters)
	}
	if _, lead := c.Join([]byte("http://h/")); !lead {
		t.Error("after landing, Join does not lead a new flight")
	}
}

// TestCollapsePassAndFail: a flight whose response may not be stored
// makes its key pass (no flight to join) until a response is stored; one
// that failed tells its waiters and makes its key Failing.
func TestCollapsePassAndFail(t *testing.T) {
	c := newTestCache(t, Options{})
	key := []byte("http://h/p")
	f, _ := c.Join(key)
	w, _ := c.Join(key)
	c.Pass(f)
	if !c.Wait(w) || c.Failed(w) {
		t.Error("a passed flight did not land, or landed failed")
	}
	if g, lead := c.Join(key); g != nil || lead {
		t.Error("a passing key has a flight to join")
	}
	store(t, c, string(key), reqOf(), respOf(200, "Cache-Control: max-age=60"))
	if g, lead := c.Join(key); !lead {
		t.Error("after a stored response, the key still passes")
	} else {
		w, _ = c.Join(key)
		c.Fail(g)
		if !c.Wait(w) || !c.Failed(w) {
			t.Error("the waiter of a failed flight did not see it fail")
		}
	}
	if !c.Failing(key) || c.Failing([]byte("http://h/other")) {
		t.Error("Failing: want the failed key only")
	}
	store(t, c, string(key), reqOf(), respOf(200, "Cache-Control: max-age=60"))
	if c.Failing(key) {
		t.Error("after a stored response, the key is still failing")
	}
}

func TestCollapseWaitGivesUp(t *testing.T) {
	c := newTestCache(t, Options{CollapseWait: 20 * time.Millisecond})
	c.Join([]byte("http://h/slow"))
	g, _ := c.Join([]byte("http://h/slow"))
	start := time.Now()
	if c.Wait(g) {
		t.Fatal("Wait reported a landing that never happened")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Wait took %v, want about 20ms", d)
	}
}

// TestFloodStaysBounded stores many distinct URLs into a small cache: its
// weight must stay within MaxSize and the heap must not grow with the
// number of URLs.
func TestFloodStaysBounded(t *testing.T) {
	const maxSize = 1 << 20
	c := newTestCache(t, Options{MaxSize: maxSize})
	body := make([]byte, 2000)
	flood := func(from, n int) {
		var key []byte
		for i := from; i < from+n; i++ {
			key = c.AppendKey(key[:0], false, []byte("h"), []byte("/p/"+strconv.Itoa(i)))
			r := respOf(200, "Cache-Control: max-age=60")
			r.Body = body
			if e, _ := c.Admit(key, reqOf(), r); e != nil {
				c.Put(e)
			}
			if i%1000 == 0 {
				c.store.CleanUp()
				if b := c.Bytes(); b > maxSize {
					t.Fatalf("after %d URLs the cache weighs %d bytes, more than %d", i, b, maxSize)
				}
			}
		}
	}
	flood(0, 20000)
	before := heapInUse()
	flood(20000, 100000)
	after := heapInUse()
	c.store.CleanUp()
	if b := c.Bytes(); b > maxSize {
		t.Errorf("the cache weighs %d bytes, more than %d", b, maxSize)
	}
	if after > before+8<<20 {
		t.Errorf("heap grew from %d to %d bytes over 100,000 URLs", before, after)
	}
}

func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}
