package cache

import (
	"fmt"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"
)

// at is a check of an entry's state some time after it was received.
type at struct {
	after time.Duration
	want  Freshness
	// onError is whether it may be served when the origin fails then.
	onError bool
}

// policyCases are the storage and freshness rules, one or more per
// directive of RFC 9111 §5.2.2 and RFC 5861. They also seed FuzzDecide.
var policyCases = []struct {
	name   string
	status int
	fields []string
	req    []string
	delay  time.Duration // request sent this long before t0
	want   Reason
	age    int64 // Age at t0, in seconds
	checks []at
}{
	{name: "max-age", fields: []string{"Cache-Control: max-age=60"},
		checks: []at{{59 * time.Second, Fresh, true}, {60 * time.Second, Expired, false}}},
	{name: "s-maxage beats max-age", fields: []string{"Cache-Control: max-age=10, s-maxage=100"},
		checks: []at{{99 * time.Second, Fresh, true}, {100 * time.Second, Expired, false}}},
	{name: "max-age beats Expires", fields: []string{"Cache-Control: max-age=10", "Expires: " + httpDate(t0.Add(time.Hour))},
		checks: []at{{10 * time.Second, Expired, false}}},
	{name: "Expires minus Date", fields: []string{"Expires: " + httpDate(t0.Add(30*time.Second))},
		checks: []at{{29 * time.Second, Fresh, true}, {30 * time.Second, Expired, false}}},
	{name: "Expires minus an earlier Date", fields: []string{"Date: " + httpDate(t0.Add(-20*time.Second)), "Expires: " + httpDate(t0.Add(30*time.Second))},
		age: 20, checks: []at{{29 * time.Second, Fresh, true}, {30 * time.Second, Expired, false}}},
	{name: "Expires without Date counts from receipt", fields: []string{"Date:", "Expires: " + httpDate(t0.Add(30*time.Second))},
		checks: []at{{29 * time.Second, Fresh, true}}},
	{name: "Expires far in the future saturates", fields: []string{"Expires: Fri, 31 Dec 9999 23:59:59 GMT"},
		checks: []at{{0, Fresh, true}, {10 * 365 * 24 * time.Hour, Fresh, true}}},
	{name: "invalid Expires is expired, with a validator kept", fields: []string{"Expires: 0", `ETag: "a"`},
		checks: []at{{0, Expired, false}}},
	{name: "invalid Expires without validator", fields: []string{"Expires: 0"}, want: ReasonUseless},
	{name: "no explicit freshness", fields: []string{"Last-Modified: " + httpDate(t0.Add(-time.Hour))}, want: ReasonNoFreshness},
	{name: "public alone is no freshness", fields: []string{"Cache-Control: public"}, want: ReasonNoFreshness},
	{name: "Age header adds", fields: []string{"Cache-Control: max-age=60", "Age: 50"},
		age: 50, checks: []at{{9 * time.Second, Fresh, true}, {10 * time.Second, Expired, false}}},
	{name: "Age plus response delay", fields: []string{"Cache-Control: max-age=60", "Age: 10"}, delay: 5 * time.Second,
		age: 15, checks: []at{{44 * time.Second, Fresh, true}, {45 * time.Second, Expired, false}}},
	{name: "apparent age beats a smaller Age", fields: []string{"Date: " + httpDate(t0.Add(-30*time.Second)), "Cache-Control: max-age=60", "Age: 5"},
		age: 30},
	{name: "Date in the future is no negative age", fields: []string{"Date: " + httpDate(t0.Add(time.Hour)), "Cache-Control: max-age=60"},
		age: 0, checks: []at{{59 * time.Second, Fresh, true}}},
	{name: "invalid Age is zero", fields: []string{"Cache-Control: max-age=60", "Age: ten"}, age: 0},
	{name: "arrives stale", fields: []string{"Cache-Control: max-age=60", "Age: 100", `ETag: "x"`},
		age: 100, checks: []at{{0, Expired, false}}},
	{name: "no-store", fields: []string{"Cache-Control: max-age=60, no-store"}, want: ReasonNoStore},
	{name: "private", fields: []string{"Cache-Control: private, max-age=60"}, want: ReasonPrivate},
	{name: "private with fields", fields: []string{`Cache-Control: private="Set-Cookie", max-age=60`}, want: ReasonPrivate},
	{name: "no-cache stores, always revalidates", fields: []string{"Cache-Control: no-cache, max-age=60", `ETag: "v1"`},
		checks: []at{{0, Expired, false}, {time.Second, Expired, false}}},
	{name: "no-cache without validator", fields: []string{"Cache-Control: no-cache, max-age=60"}, want: ReasonUseless},
	{name: "must-revalidate forbids stale", fields: []string{"Cache-Control: max-age=10, must-revalidate, stale-while-revalidate=60, stale-if-error=60"},
		checks: []at{{5 * time.Second, Fresh, true}, {11 * time.Second, Expired, false}}},
	{name: "proxy-revalidate forbids stale", fields: []string{"Cache-Control: max-age=10, proxy-revalidate, stale-if-error=60"},
		checks: []at{{11 * time.Second, Expired, false}}},
	{name: "stale-while-revalidate", fields: []string{"Cache-Control: max-age=10, stale-while-revalidate=20"},
		checks: []at{{9 * time.Second, Fresh, true}, {10 * time.Second, StaleWhileRevalidate, false}, {29 * time.Second, StaleWhileRevalidate, false}, {30 * time.Second, Expired, false}}},
	{name: "stale-if-error", fields: []string{"Cache-Control: max-age=10, stale-if-error=20"},
		checks: []at{{15 * time.Second, Expired, true}, {29 * time.Second, Expired, true}, {30 * time.Second, Expired, false}}},
	{name: "max-age=0 with stale-if-error only", fields: []string{"Cache-Control: max-age=0, stale-if-error=30"},
		checks: []at{{0, Expired, true}}},
	{name: "Set-Cookie", fields: []string{"Cache-Control: max-age=60", "Set-Cookie: a=b"}, want: ReasonSetCookie},
	{name: "Vary star", fields: []string{"Cache-Control: max-age=60", "Vary: *"}, want: ReasonVary},
	{name: "Vary Cookie", fields: []string{"Cache-Control: max-age=60", "Vary: Accept-Encoding, cookie"}, want: ReasonVary},
	{name: "Vary Accept-Encoding", fields: []string{"Cache-Control: max-age=60", "Vary: accept-encoding"}},
	{name: "known coding", fields: []string{"Cache-Control: max-age=60", "Content-Encoding: zstd"}},
	{name: "unknown coding", fields: []string{"Cache-Control: max-age=60", "Content-Encoding: compress"}, want: ReasonCoding},
	{name: "Authorization refused", fields: []string{"Cache-Control: max-age=60"}, req: []string{"Authorization: Basic x"}, want: ReasonAuthorization},
	{name: "Authorization with must-revalidate refused", fields: []string{"Cache-Control: max-age=60, must-revalidate"}, req: []string{"Authorization: Basic x"}, want: ReasonAuthorization},
	{name: "Authorization with public", fields: []string{"Cache-Control: public, max-age=60"}, req: []string{"Authorization: Basic x"}},
	{name: "Authorization with s-maxage", fields: []string{"Cache-Control: s-maxage=60"}, req: []string{"Authorization: Basic x"}},
	{name: "bad max-age", fields: []string{"Cache-Control: max-age=soon"}, want: ReasonDirective},
	{name: "huge max-age saturates", fields: []string{"Cache-Control: max-age=99999999999999"},
		checks: []at{{24 * 365 * time.Hour, Fresh, true}}},
	{name: "two Cache-Control fields", fields: []string{"Cache-Control: max-age=60", "Cache-Control: no-store"}, want: ReasonNoStore},
	{name: "immutable and unknown extensions", fields: []string{"Cache-Control: max-age=60, immutable, community=\"UCI\""},
		checks: []at{{59 * time.Second, Fresh, true}}},
	{name: "100 tags kept", fields: []string{"Cache-Control: max-age=60", "Surrogate-Key: " + tagList(100, 4)}},
	{name: "a long tag kept", fields: []string{"Cache-Control: max-age=60", "Cache-Tag: " + strings.Repeat("t", 300)}},
	{name: "too many tags", fields: []string{"Cache-Control: max-age=60", "Surrogate-Key: " + tagList(maxTags+1, 1)}, want: ReasonTags},
	{name: "too many tag bytes", fields: []string{"Cache-Control: max-age=60", "Surrogate-Key: " + tagList(maxTags/2, 20), "Cache-Tag: " + tagList(maxTags/2, 20)}, want: ReasonTags},
	{name: "301", status: 301, fields: []string{"Cache-Control: max-age=60", "Location: /b"}},
	{name: "308", status: 308, fields: []string{"Cache-Control: max-age=60", "Location: /b"}},
	{name: "404", status: 404, fields: []string{"Cache-Control: max-age=60"}},
	{name: "410", status: 410, fields: []string{"Cache-Control: max-age=60"}},
	{name: "204", status: 204, fields: []string{"Cache-Control: max-age=60"}},
	{name: "206 not stored", status: 206, fields: []string{"Cache-Control: max-age=60"}, want: ReasonStatus},
	{name: "302 not stored", status: 302, fields: []string{"Cache-Control: max-age=60"}, want: ReasonStatus},
	{name: "500 not stored", status: 500, fields: []string{"Cache-Control: max-age=60"}, want: ReasonStatus},
}

// tagList is n distinct tags of about size bytes each, space separated.
func tagList(n, size int) string {
	tags := make([]string, n)
	for i := range tags {
		tags[i] = fmt.Sprintf("%0*d", size, i)
	}
	return strings.Join(tags, " ")
}

func TestDecide(t *testing.T) {
	const sie = 0
	for _, tc := range policyCases {
		t.Run(tc.name, func(t *testing.T) {
			status := tc.status
			if status == 0 {
				status = http.StatusOK
			}
			r := respOf(status, tc.fields...)
			r.RequestTime = t0.Add(-tc.delay)
			p, why := decide(reqOf(tc.req...), r, 0)
			if why != tc.want {
				t.Fatalf("reason: got %q, want %q", why, tc.want)
			}
			if why != Storable {
				return
			}
			e := newEntry("http://h/", 7, "http://h/", r, p)
			wantTags := 0
			for _, f := range r.Fields {
				if IsTagField(f.Name) {
					wantTags += countTags(f.Value)
				}
			}
			if got := len(e.Tags()); got != wantTags {
				t.Errorf("tags: got %d, want %d", got, wantTags)
			}
			if got := e.Age(t0.UnixNano()); got != tc.age {
				t.Errorf("Age at receipt: got %d, want %d", got, tc.age)
			}
			for _, c := range tc.checks {
				now := t0.Add(c.after).UnixNano()
				if got := e.Freshness(now); got != c.want {
					t.Errorf("after %v: got %v, want %v", c.after, got, c.want)
				}
				if got := e.UsableOnError(now, sie); got != c.onError {
					t.Errorf("after %v: usable on error: got %v, want %v", c.after, got, c.onError)
				}
			}
		})
	}
}

func TestUsableOnErrorDefault(t *testing.T) {
	tests := []struct {
		name   string
		cc     string
		after  time.Duration
		window time.Duration
		want   bool
	}{
		{"default window applies", "max-age=10", 40 * time.Second, time.Minute, true},
		{"past the default window", "max-age=10", 71 * time.Second, time.Minute, false},
		{"response's own window wins", "max-age=10, stale-if-error=5", 40 * time.Second, time.Minute, false},
		{"must-revalidate wins over default", "max-age=10, must-revalidate", 11 * time.Second, time.Hour, false},
		{"no default", "max-age=10", 11 * time.Second, 0, false},
		{"huge default window saturates", "max-age=10", 40 * time.Second, time.Duration(math.MaxInt64), true},
		// s-maxage implies proxy-revalidate (RFC 9111 §5.2.2.10).
		{"s-maxage gets no default window", "s-maxage=10", time.Minute, time.Hour, false},
		{"s-maxage with its own stale-if-error", "s-maxage=10, stale-if-error=60", 40 * time.Second, time.Hour, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := respOf(200, "Cache-Control: "+tc.cc)
			p, why := decide(reqOf(), r, 0)
			if why != Storable {
				t.Fatalf("not storable: %s", why)
			}
			e := newEntry("http://h/", 7, "http://h/", r, p)
			if got := e.UsableOnError(t0.Add(tc.after).UnixNano(), tc.window); got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// TestDefaultStaleIfErrorKeeps checks that the cache's own stale-if-error
// window makes a response worth storing past its freshness, validator or
// not.
func TestDefaultStaleIfErrorKeeps(t *testing.T) {
	r := respOf(200, "Cache-Control: max-age=10", "Age: 20")
	if _, why := decide(reqOf(), r, 0); why != ReasonUseless {
		t.Errorf("no default window: got %q, want %q", why, ReasonUseless)
	}
	if _, why := decide(reqOf(), r, time.Hour); why != Storable {
		t.Errorf("default window: got %q, want storable", why)
	}
	// s-maxage implies proxy-revalidate: the default window does not apply.
	s := respOf(200, "Cache-Control: s-maxage=10", "Age: 20")
	if _, why := decide(reqOf(), s, time.Hour); why != ReasonUseless {
		t.Errorf("s-maxage, default window: got %q, want %q", why, ReasonUseless)
	}
}

func TestAgeAdvances(t *testing.T) {
	r := respOf(200, "Cache-Control: max-age=600", "Age: 100", "Date: "+httpDate(t0.Add(-10*time.Second)))
	r.RequestTime = t0.Add(-2 * time.Second)
	p, _ := decide(reqOf(), r, 0)
	e := newEntry("http://h/", 7, "http://h/", r, p)
	// corrected_initial_age = max(10, 100+2) = 102; plus 60 s resident.
	if got, want := e.Age(t0.Add(time.Minute).UnixNano()), int64(162); got != want {
		t.Errorf("Age: got %d, want %d", got, want)
	}
}

func TestNotModified(t *testing.T) {
	lm := httpDate(t0.Add(-time.Hour))
	r := respOf(200, "Cache-Control: max-age=60", `ETag: W/"v1"`, "Last-Modified: "+lm)
	p, _ := decide(reqOf(), r, 0)
	e := newEntry("http://h/", 7, "http://h/", r, p)
	tests := []struct {
		name     string
		inm, ims string
		want     bool
	}{
		{"matching weak tag", `"v1"`, "", true},
		{"in a list", `"x", W/"v1"`, "", true},
		{"star", `*`, "", true},
		{"other tag", `"v2"`, "", false},
		{"If-None-Match wins over If-Modified-Since", `"v2"`, httpDate(t0), false},
		{"modified since", "", httpDate(t0.Add(-2 * time.Hour)), false},
		{"not modified since", "", httpDate(t0), true},
		{"bad date", "", "yesterday", false},
		{"unconditional", "", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := e.NotModified([]byte(tc.inm), []byte(tc.ims)); got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestPreconditionFailed(t *testing.T) {
	lm := httpDate(t0.Add(-time.Hour))
	strong := newEntry("http://h/", 7, "http://h/", respOf(200, "Cache-Control: max-age=60", `ETag: "v1"`, "Last-Modified: "+lm), policy{})
	weak := newEntry("http://h/", 7, "http://h/", respOf(200, "Cache-Control: max-age=60", `ETag: W/"v1"`), policy{})
	notFound := newEntry("http://h/", 7, "http://h/", respOf(404, "Cache-Control: max-age=60", `ETag: "v1"`), policy{})
	tests := []struct {
		name     string
		e        *Entry
		im, ius  string
		wantFail bool
	}{
		{"matching tag", strong, `"v1"`, "", false},
		{"in a list", strong, `"x", "v1"`, "", false},
		{"star", strong, "*", "", false},
		{"other tag", strong, `"v2"`, "", true},
		{"weak tag never matches", weak, `W/"v1"`, "", true},
		{"weak stored tag never matches", weak, `"v1"`, "", true},
		{"If-Match wins over If-Unmodified-Since", strong, `"v1"`, httpDate(t0.Add(-2 * time.Hour)), false},
		{"modified since", strong, "", httpDate(t0.Add(-2 * time.Hour)), true},
		{"not modified since", strong, "", httpDate(t0), false},
		{"bad date ignored", strong, "", "yesterday", false},
		{"no Last-Modified", weak, "", httpDate(t0.Add(-2 * time.Hour)), false},
		{"not a 2xx", notFound, `"v2"`, "", false},
		{"unconditional", strong, "", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.e.PreconditionFailed([]byte(tc.im), []byte(tc.ius)); got != tc.wantFail {
				t.Errorf("got %v, want %v", got, tc.wantFail)
			}
		})
	}
}

func TestAppendTags(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"a b c", []string{"a", "b", "c"}},
		{"a,b, c", []string{"a", "b", "c"}},
		{" a  a ,, b\t", []string{"a", "b"}},
		{"", nil},
	}
	for _, tc := range tests {
		got := AppendTags(nil, []byte(tc.in))
		if len(got) != len(tc.want) {
			t.Errorf("%q: got %q, want %q", tc.in, got, tc.want)
			continue
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("%q: got %q, want %q", tc.in, got, tc.want)
			}
		}
	}
}

// BenchmarkDecide is the storage decision a miss pays, Cache-Control
// parsed by pquerna/cachecontrol.
func BenchmarkDecide(b *testing.B) {
	r := respOf(200, "Cache-Control: public, max-age=60, stale-while-revalidate=30, stale-if-error=600",
		"Content-Type: text/html; charset=utf-8", `ETag: "v1"`, "Vary: Accept-Encoding", "Age: 3",
		"Last-Modified: "+httpDate(t0.Add(-time.Hour)))
	req := reqOf("Accept-Encoding: gzip")
	b.ReportAllocs()
	for b.Loop() {
		if _, why := decide(req, r, 0); why != Storable {
			b.Fatal(why)
		}
	}
}
