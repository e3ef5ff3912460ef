package admin

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/marquee-proxy/marquee/cache"
	"github.com/marquee-proxy/marquee/internal/apierror"
	"github.com/marquee-proxy/marquee/internal/cachetest"
	msync "github.com/marquee-proxy/marquee/sync"
)

// fakePublisher records the purges published, or fails.
type fakePublisher struct {
	mu   sync.Mutex
	got  []cache.Purge
	fail bool
}

func (f *fakePublisher) PublishPurge(p cache.Purge) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail {
		return errors.New("cluster: shut down")
	}
	f.got = append(f.got, p)
	return nil
}

func purgeServer(t *testing.T, c Cache, pub PurgePublisher) *httptest.Server {
	t.Helper()
	st, err := msync.Open(msync.Options{Node: "n1"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	opts := Options{Token: "s3cret", Store: st, Cache: c}
	if pub != nil {
		opts.Purges = pub
	}
	h, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

func postPurge(t *testing.T, srv *httptest.Server, token, body string) (int, []byte) {
	t.Helper()
	status, b, err := doPurge(srv, token, body)
	if err != nil {
		t.Fatal(err)
	}
	return status, b
}

// doPurge posts a purge; it may run outside the test's goroutine.
func doPurge(srv *httptest.Server, token, body string) (int, []byte, error) {
	req, _ := http.NewRequest("POST", srv.URL+"/v1/cache/purge", strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

func TestCachePurgeRefusesBadBodies(t *testing.T) {
	c := &cachetest.Recorder{}
	srv := purgeServer(t, c, &fakePublisher{})
	items := func(n int) string {
		s := make([]string, n)
		for i := range s {
			s[i] = fmt.Sprintf(`"/p/%d"`, i)
		}
		return "[" + strings.Join(s, ",") + "]"
	}
	future := time.Now().Add(time.Minute).UTC().Format(time.RFC3339)
	tests := []struct {
		name   string
		body   string
		status int
		code   string
		field  string
	}{
		{"empty body", ``, 400, apierror.CodeInvalidJSON, ""},
		{"bad JSON", `{"urls": [`, 400, apierror.CodeInvalidJSON, ""},
		{"not an object", `["/a"]`, 400, apierror.CodeInvalidField, ""},
		{"trailing data", `{"all": true} {}`, 400, apierror.CodeInvalidJSON, ""},
		{"unknown field", `{"url": ["/a"]}`, 400, apierror.CodeUnknownField, "url"},
		{"urls not a list", `{"urls": "/a"}`, 400, apierror.CodeInvalidField, "urls"},
		{"all not a boolean", `{"all": "yes"}`, 400, apierror.CodeInvalidField, "all"},
		{"empty purge", `{}`, 400, apierror.CodeInvalidField, ""},
		{"empty lists", `{"urls": [], "tags": [], "all": false}`, 400, apierror.CodeInvalidField, ""},
		{"relative url", `{"urls": ["p/1"]}`, 400, apierror.CodeInvalidField, "urls"},
		{"ftp prefix", `{"prefixes": ["ftp://shop/"]}`, 400, apierror.CodeInvalidField, "prefixes"},
		{"tag with a space", `{"tags": ["a b"]}`, 400, apierror.CodeInvalidField, "tags"},
		{"empty tag", `{"urls": ["/a"], "tags": [""]}`, 400, apierror.CodeInvalidField, "tags"},
		{"too many items", `{"urls": ` + items(cache.MaxPurgeItems) + `, "tags": ["x"]}`, 400, apierror.CodeInvalidField, ""},
		{"at not a time", `{"all": true, "at": "yesterday"}`, 400, apierror.CodeInvalidField, "at"},
		{"at in the future", `{"all": true, "at": "` + future + `"}`, 400, apierror.CodeInvalidField, "at"},
		{"at before 1970", `{"all": true, "at": "1969-12-31T00:00:00Z"}`, 400, apierror.CodeInvalidField, "at"},
		{"over 1 MiB", `{"urls": ["/` + strings.Repeat("a", maxAdminBody) + `"]}`, 413, apierror.CodeTooLarge, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := postPurge(t, srv, "s3cret", tt.body)
			var got struct{ Error apierror.Error }
			if err := json.Unmarshal(body, &got); err != nil {
				t.Fatalf("%d %s: %v", status, body, err)
			}
			if status != tt.status || got.Error.Code != tt.code || got.Error.Field != tt.field {
				t.Errorf("got %d %q field %q (%s), want %d %q field %q", status, got.Error.Code, got.Error.Field, got.Error.Message, tt.status, tt.code, tt.field)
			}
		})
	}
	if n := len(c.Purges()); n != 0 {
		t.Errorf("%d refused purges reached the cache", n)
	}
}

func TestCachePurge(t *testing.T) {
	past := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name           string
		body           string
		pub            *fakePublisher
		wantDropped    int
		wantReplicated bool
		// wantReplicationError: the answer says why a node with a
		// cluster did not replicate.
		wantReplicationError bool
		wantAt               func(before, after time.Time, at time.Time) bool
		want                 cache.Purge
	}{
		{
			name: "urls, prefixes and tags", body: `{"urls": ["https://shop.example/p/1"], "prefixes": ["/c/"], "tags": ["sku-1", "home"]}`,
			pub: &fakePublisher{}, wantDropped: 4, wantReplicated: true,
			want: cache.Purge{URLs: []string{"https://shop.example/p/1"}, Prefixes: []string{"/c/"}, Tags: []string{"sku-1", "home"}},
		},
		{
			name: "all, backdated", body: `{"all": true, "at": "2026-12-01T10:00:00Z"}`,
			pub: &fakePublisher{}, wantReplicated: true,
			wantAt: func(_, _, at time.Time) bool { return at.Equal(past) },
			want:   cache.Purge{All: true},
		},
		{
			name: "a client clock a second ahead", body: `{"tags": ["t"], "at": "` + time.Now().Add(time.Second).UTC().Format(time.RFC3339Nano) + `"}`,
			pub: &fakePublisher{}, wantDropped: 1, wantReplicated: true,
			want: cache.Purge{Tags: []string{"t"}},
		},
		{
			name: "no fleet", body: `{"urls": ["/a"]}`, wantDropped: 1,
			want: cache.Purge{URLs: []string{"/a"}},
		},
		{
			name: "the fleet refuses", body: `{"urls": ["/a"]}`, pub: &fakePublisher{fail: true}, wantDropped: 1,
			wantReplicationError: true,
			want:                 cache.Purge{URLs: []string{"/a"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &cachetest.Recorder{}
			var pub PurgePublisher
			if tt.pub != nil {
				pub = tt.pub
			}
			srv := purgeServer(t, c, pub)
			before := time.Now()
			status, body := postPurge(t, srv, "s3cret", tt.body)
			after := time.Now()
			if status != 200 {
				t.Fatalf("got %d %s", status, body)
			}
			var got purgeAnswer
			if err := json.Unmarshal(body, &got); err != nil {
				t.Fatal(err)
			}
			if got.Dropped != tt.wantDropped || got.Replicated != tt.wantReplicated || (got.ReplicationError != "") != tt.wantReplicationError {
				t.Errorf("got %s, want dropped %d, replicated %v, a replication error %v", body, tt.wantDropped, tt.wantReplicated, tt.wantReplicationError)
			}
			wantAt := tt.wantAt
			if wantAt == nil {
				wantAt = func(before, after, at time.Time) bool {
					return !at.Before(before.Truncate(time.Second)) && !at.After(after)
				}
			}
			if !wantAt(before, after, got.At) {
				t.Errorf("at %v, want between %v and %v", got.At, before, after)
			}
			ps := c.Purges()
			if len(ps) != 1 {
				t.Fatalf("cache given %d purges, want 1", len(ps))
			}
			want := tt.want
			want.At = ps[0].At
			if fmt.Sprint(ps[0]) != fmt.Sprint(want) || !ps[0].At.Equal(got.At) {
				t.Errorf("cache given %+v, want %+v at %v", ps[0], want, got.At)
			}
			if tt.pub != nil && !tt.pub.fail && (len(tt.pub.got) != 1 || fmt.Sprint(tt.pub.got[0]) != fmt.Sprint(ps[0])) {
				t.Errorf("published %+v, want %+v", tt.pub.got, ps[0])
			}
		})
	}
}

func TestCachePurgeCacheOffAndAuth(t *testing.T) {
	off := purgeServer(t, nil, &fakePublisher{})
	status, body := postPurge(t, off, "s3cret", `{"all": true}`)
	if status != 404 || !strings.Contains(string(body), apierror.CodeCacheOff) {
		t.Errorf("cache off: got %d %s, want 404 %s", status, body, apierror.CodeCacheOff)
	}
	c := &cachetest.Recorder{}
	on := purgeServer(t, c, nil)
	for _, token := range []string{"", "wrong"} {
		status, body := postPurge(t, on, token, `{"all": true}`)
		if status != 401 || !strings.Contains(string(body), apierror.CodeUnauthorized) {
			t.Errorf("token %q: got %d %s, want 401", token, status, body)
		}
	}
	if status, body := postPurge(t, on, "s3cret", `{"all": true}`); status != 200 {
		t.Errorf("with the token: got %d %s", status, body)
	}
	if n := len(c.Purges()); n != 1 {
		t.Errorf("cache given %d purges, want 1 (the authenticated one)", n)
	}
}

func TestConcurrentCachePurges(t *testing.T) {
	c := &cachetest.Recorder{}
	pub := &fakePublisher{}
	srv := purgeServer(t, c, pub)
	const workers, each = 8, 10
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				if status, body, err := doPurge(srv, "s3cret", fmt.Sprintf(`{"urls": ["/w%d/%d"]}`, w, i)); err != nil || status != 200 {
					t.Errorf("got %d %s %v", status, body, err)
				}
			}
		})
	}
	wg.Wait()
	if n := len(c.Purges()); n != workers*each {
		t.Errorf("cache given %d purges, want %d", n, workers*each)
	}
	pub.mu.Lock()
	defer pub.mu.Unlock()
	if len(pub.got) != workers*each {
		t.Errorf("published %d purges, want %d", len(pub.got), workers*each)
	}
}
