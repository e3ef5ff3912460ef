package admin

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/marquee-proxy/marquee/internal/apierror"
	"github.com/marquee-proxy/marquee/internal/cachetest"
	"github.com/marquee-proxy/marquee/opstate"
	"github.com/marquee-proxy/marquee/profile"
	msync "github.com/marquee-proxy/marquee/sync"

	"github.com/prometheus/client_golang/prometheus"
)

const (
	viewerToken = "viewer-token-0123456789"
	editorToken = "editor-token-0123456789"
)

// roleTokens are a read and an edit token beside the legacy one.
var roleTokens = []Token{{Name: "viewer", Token: viewerToken, Role: RoleRead}, {Name: "editor", Token: editorToken, Role: RoleEdit}}

// wantRoles is the role each route needs (RoleNone: no token). A route
// registered without an entry here fails TestRoleMatrix, so that whoever
// adds one decides who may call it.
var wantRoles = map[string]Role{
	"GET /healthz":                        RoleNone,
	"GET /readyz":                         RoleNone,
	"GET /{$}":                            RoleNone,
	"GET /assets/{name}":                  RoleNone,
	"GET /v1/metrics/history":             RoleRead,
	"GET /v1/campaigns/diff":              RoleRead,
	"GET /v1/whoami":                      RoleRead,
	"GET /v1/audit":                       RoleRead,
	"GET /v1/profiles/{id}":               RoleRead,
	"GET /v1/campaigns":                   RoleRead,
	"POST /v1/campaigns/validate":         RoleRead,
	"POST /v1/campaigns/preview":          RoleRead,
	"GET /preview/offer/{id}":             RoleNone,
	"GET /v1/campaigns/history":           RoleRead,
	"GET /v1/campaigns/history/{version}": RoleRead,
	"GET /v1/explain":                     RoleRead,
	"GET /v1/segments":                    RoleRead,
	"GET /v1/stats":                       RoleRead,
	"GET /v1/cluster":                     RoleRead,
	"GET /metrics":                        RoleRead,
	"GET /debug/pprof/":                   RoleRead,
	"GET /debug/pprof/cmdline":            RoleRead,
	"GET /debug/pprof/profile":            RoleRead,
	"GET /debug/pprof/symbol":             RoleRead,
	"GET /debug/pprof/trace":              RoleRead,
	"POST /v1/preview":                    RoleRead,
	"PUT /v1/profiles/{id}":               RoleEdit,
	"PATCH /v1/profiles/{id}":             RoleEdit,
	"DELETE /v1/profiles/{id}":            RoleEdit,
	"POST /v1/events":                     RoleEdit,
	"POST /v1/import":                     RoleEdit,
	"POST /v1/cache/purge":                RoleEdit,
	"PUT /v1/campaigns":                   RoleEdit,
	"POST /v1/campaigns/rollback":         RoleEdit,
}

// fullAdmin builds an admin API with every optional part set, so that
// every route is registered, with the legacy token and roleTokens.
func fullAdmin(t *testing.T, o Options) *admin {
	t.Helper()
	env := startPersonalized(t, goldConfig, slotPage)
	hist, err := opstate.Open("", opstate.Options{})
	if err != nil {
		t.Fatal(err)
	}
	o.Store, o.Personalizer = env.Store, env.Pers
	o.Campaigns = &memCampaigns{p: env.Pers, h: hist}
	o.Cluster, o.Cache, o.Gatherer = &fakeCluster{}, &cachetest.Recorder{}, prometheus.NewRegistry()
	o.History = NewMetricsHistory(o.Gatherer, 0, 0)
	o.Stats = func() any { return map[string]any{} }
	o.Segments = func(*profile.Profile) []string { return nil }
	a, err := newAdmin(o)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// routePath is a path pattern matches.
func routePath(pattern string) (method, path string) {
	method, path, _ = strings.Cut(pattern, " ")
	path = strings.NewReplacer("{id}", "visitor-1", "{version}", "1", "{name}", "console.js", "{$}", "").Replace(path)
	return method, path
}

// TestRoleMatrix calls every registered route without a token, with a
// read token and with an edit token, and checks who gets through.
func TestRoleMatrix(t *testing.T) {
	a := fullAdmin(t, Options{Token: "s3cret", Tokens: roleTokens})
	seen := map[string]bool{}
	for _, r := range a.routes {
		seen[r.pattern] = true
		want, ok := wantRoles[r.pattern]
		if !ok {
			t.Errorf("route %q is not in wantRoles: decide who may call it", r.pattern)
			continue
		}
		if r.need != want {
			t.Errorf("route %q needs %v, want %v", r.pattern, r.need, want)
		}
		if (r.action != "") != (r.need == RoleEdit) {
			t.Errorf("route %q: audit action %q with role %v; every edit route and only they are audited", r.pattern, r.action, r.need)
		}
	}
	for _, caller := range []struct {
		name, token string
		role        Role
	}{
		{"no token", "", RoleNone},
		{"wrong token", "viewer-token-0123456780", RoleNone},
		{"read", viewerToken, RoleRead},
		{"edit", editorToken, RoleEdit},
		{"admin.token", "s3cret", RoleEdit},
	} {
		for _, r := range a.routes {
			t.Run(caller.name+"/"+r.pattern, func(t *testing.T) {
				method, path := routePath(r.pattern)
				req := httptest.NewRequest(method, path, strings.NewReader(""))
				if caller.token != "" {
					req.Header.Set("Authorization", "Bearer "+caller.token)
				}
				// The profiler's handlers wait for their duration or the
				// end of the request, whichever comes first.
				ctx, cancel := context.WithCancel(req.Context())
				cancel()
				rec := httptest.NewRecorder()
				a.handler.ServeHTTP(rec, req.WithContext(ctx))
				var want int
				switch {
				case r.need == RoleNone:
				case caller.role == RoleNone:
					want = http.StatusUnauthorized
				case caller.role < r.need:
					want = http.StatusForbidden
				}
				got := rec.Code
				if want == 0 && (got == http.StatusUnauthorized || got == http.StatusForbidden) {
					t.Errorf("got %d %s, want the call let through", got, rec.Body)
				}
				if want != 0 && got != want {
					t.Errorf("got %d %s, want %d", got, rec.Body, want)
				}
			})
		}
	}
	for p := range wantRoles {
		if !seen[p] {
			t.Errorf("wantRoles lists %q, which is not registered", p)
		}
	}
}

// TestUnauthorizedAndForbidden checks the two refusals over HTTP: 401
// with a challenge for no or a wrong token, 403 forbidden naming the
// token and its role for a read token on a write, which changes nothing.
func TestUnauthorizedAndForbidden(t *testing.T) {
	srv, st := newAdminNode(t, msync.Options{}, Options{Tokens: roleTokens})
	if code, _ := call(t, srv, "PUT", "/v1/profiles/visitor-1", editorToken, `{"attrs":{"tier":"gold"}}`); code != 200 {
		t.Fatalf("seed: %d", code)
	}
	before, _ := st.Get("visitor-1")
	tests := []struct {
		name, method, path, token string
		status                    int
		code, message             string
	}{
		{"no token", "PUT", "/v1/profiles/visitor-1", "", 401, apierror.CodeUnauthorized, "missing or wrong bearer token"},
		{"wrong token", "DELETE", "/v1/profiles/visitor-1", "nope", 401, apierror.CodeUnauthorized, "missing or wrong bearer token"},
		{"prefix of a token", "GET", "/v1/profiles/visitor-1", viewerToken[:10], 401, apierror.CodeUnauthorized, "missing or wrong bearer token"},
		{"read token, put", "PUT", "/v1/profiles/visitor-1", viewerToken, 403, apierror.CodeForbidden, `token "viewer" has role read; this call needs an edit token`},
		{"read token, delete", "DELETE", "/v1/profiles/visitor-1", viewerToken, 403, apierror.CodeForbidden, `token "viewer" has role read; this call needs an edit token`},
		{"read token, events", "POST", "/v1/events", viewerToken, 403, apierror.CodeForbidden, `token "viewer" has role read; this call needs an edit token`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, data := adminDo(t, srv, tt.method, tt.path, tt.token, `{"attrs":{"tier":"silver"}}`)
			var body map[string]any
			if err := json.Unmarshal(data, &body); err != nil {
				t.Fatalf("%s is not JSON: %v", data, err)
			}
			if resp.StatusCode != tt.status || errField(body, "code") != tt.code || errField(body, "message") != tt.message {
				t.Errorf("got %d %s, want %d code %q message %q", resp.StatusCode, data, tt.status, tt.code, tt.message)
			}
			if challenge := resp.Header.Get("WWW-Authenticate") != ""; challenge != (tt.status == 401) {
				t.Errorf("WWW-Authenticate %q on a %d", resp.Header.Get("WWW-Authenticate"), tt.status)
			}
		})
	}
	if after, _ := st.Get("visitor-1"); after.Version != before.Version || after.Attrs["tier"] != "gold" {
		t.Errorf("refused calls changed the profile: %+v", after)
	}
}

func TestWhoami(t *testing.T) {
	tests := []struct {
		name   string
		opts   Options
		token  string
		status int
		want   string
	}{
		{"read token", Options{Tokens: roleTokens}, viewerToken, 200, `{"name":"viewer","role":"read"}`},
		{"edit token", Options{Tokens: roleTokens}, editorToken, 200, `{"name":"editor","role":"edit"}`},
		{"admin.token", Options{Token: "s3cret", Tokens: roleTokens}, "s3cret", 200, `{"name":"admin","role":"edit"}`},
		{"no tokens configured", Options{}, "", 200, `{"name":"anonymous","role":"edit"}`},
		{"no tokens configured, one sent", Options{}, "anything", 200, `{"name":"anonymous","role":"edit"}`},
		{"missing token", Options{Tokens: roleTokens}, "", 401, ""},
		{"wrong token", Options{Token: "s3cret"}, viewerToken, 401, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, _ := newAdminNode(t, msync.Options{}, tt.opts)
			resp, data := adminDo(t, srv, "GET", "/v1/whoami", tt.token, "")
			if resp.StatusCode != tt.status {
				t.Fatalf("got %d %s, want %d", resp.StatusCode, data, tt.status)
			}
			if tt.want == "" {
				return
			}
			var got any
			if err := json.Unmarshal(data, &got); err != nil {
				t.Fatal(err)
			}
			if g, _ := json.Marshal(got); string(g) != tt.want {
				t.Errorf("got %s, want %s", g, tt.want)
			}
		})
	}
}

// TestBadTokens checks New refuses token lists config validation would.
func TestBadTokens(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"no name", Options{Tokens: []Token{{Token: viewerToken, Role: RoleRead}}}, "want a name"},
		{"anonymous", Options{Tokens: []Token{{Name: "anonymous", Token: viewerToken, Role: RoleRead}}}, "want a name"},
		{"name twice", Options{Tokens: []Token{{Name: "a", Token: viewerToken, Role: RoleRead}, {Name: "a", Token: editorToken, Role: RoleEdit}}}, `"a" used twice`},
		{"admin beside admin.token", Options{Token: "s3cret", Tokens: []Token{{Name: "admin", Token: viewerToken, Role: RoleRead}}}, `"admin" used twice`},
		{"token twice", Options{Tokens: []Token{{Name: "a", Token: viewerToken, Role: RoleRead}, {Name: "b", Token: viewerToken, Role: RoleEdit}}}, `"a" and "b" are the same`},
		{"same as admin.token", Options{Token: viewerToken, Tokens: []Token{{Name: "a", Token: viewerToken, Role: RoleRead}}}, `"admin" and "a" are the same`},
		{"empty token", Options{Tokens: []Token{{Name: "a", Role: RoleRead}}}, `token "a" is empty`},
		{"no role", Options{Tokens: []Token{{Name: "a", Token: viewerToken}}}, `token "a": no role 0`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.Store = openStore(t)
			_, err := New(tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error containing %q", err, tt.want)
			}
			if err != nil && strings.Contains(err.Error(), viewerToken) {
				t.Errorf("error %q quotes a token", err)
			}
		})
	}
}

// openStore opens an in-memory store for the test.
func openStore(t *testing.T) *msync.Store {
	t.Helper()
	st, err := msync.Open(msync.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func TestParseRole(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want Role
		ok   bool
	}{{"read", RoleRead, true}, {"edit", RoleEdit, true}, {"admin", RoleNone, false}, {"", RoleNone, false}, {"Read", RoleNone, false}} {
		got, err := ParseRole(tt.in)
		if got != tt.want || (err == nil) != tt.ok {
			t.Errorf("ParseRole(%q) = %v, %v; want %v, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
		if tt.ok && got.String() != tt.in {
			t.Errorf("%v.String() = %q, want %q", got, got.String(), tt.in)
		}
	}
	if s := Role(7).String(); s != "Role(7)" {
		t.Errorf("Role(7).String() = %q", s)
	}
}

// TestBrowserGuard: without tokens, the admin API refuses what a web page
// could make the operator's browser send (a cross-site POST, a form post,
// a DNS-rebinding page's reads), and keeps answering curl, scripts and
// the console's own calls.
func TestBrowserGuard(t *testing.T) {
	st, err := msync.Open(msync.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	anon := mustNew(t, Options{Store: st})
	tokened := mustNew(t, Options{Store: st, Token: "s3cret"})
	tests := []struct {
		name, method, host string
		header             map[string]string
		h                  http.Handler
		token              string
		refused            string // part of the 403's message; "" when let through
	}{
		{name: "curl GET", method: "GET", host: "127.0.0.1:9901"},
		{name: "curl POST", method: "POST", host: "127.0.0.1:9901"},
		{name: "curl POST by localhost", method: "POST", host: "localhost:9901"},
		{name: "curl POST by [::1]", method: "POST", host: "[::1]:9901"},
		{name: "localhost without a port", method: "GET", host: "LOCALHOST"},
		{name: "127.0.0.2", method: "GET", host: "127.0.0.2:80"},
		{name: "console POST", method: "POST", host: "127.0.0.1:9901", header: map[string]string{
			"Origin": "http://127.0.0.1:9901", "Sec-Fetch-Site": "same-origin", "Content-Type": "application/json"}},
		{name: "console POST, Origin only", method: "POST", host: "localhost:9901", header: map[string]string{
			"Origin": "http://localhost:9901"}},
		{name: "default port", method: "POST", host: "localhost", header: map[string]string{"Origin": "http://localhost:80"}},
		{name: "typed in the address bar", method: "POST", host: "localhost:9901", header: map[string]string{"Sec-Fetch-Site": "none"}},
		{name: "cross-site GET is readable only by its own origin", method: "GET", host: "127.0.0.1:9901", header: map[string]string{
			"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}},
		{name: "cross-site text/plain POST", method: "POST", host: "127.0.0.1:9901", header: map[string]string{
			"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site", "Content-Type": "text/plain"}, refused: "another site"},
		{name: "same-site POST from another port", method: "POST", host: "127.0.0.1:9901", header: map[string]string{
			"Origin": "http://127.0.0.1:8080", "Sec-Fetch-Site": "same-site"}, refused: "another site"},
		{name: "form POST with Origin null", method: "POST", host: "127.0.0.1:9901", header: map[string]string{
			"Origin": "null", "Content-Type": "application/x-www-form-urlencoded"}, refused: `origin "null"`},
		{name: "older browser, Origin of another port", method: "PUT", host: "localhost:9901", header: map[string]string{
			"Origin": "http://localhost:8080"}, refused: "not this listener"},
		{name: "DELETE cross-site", method: "DELETE", host: "localhost:9901", header: map[string]string{
			"Sec-Fetch-Site": "cross-site"}, refused: "another site"},
		{name: "rebinding GET", method: "GET", host: "evil.example:9901", header: map[string]string{
			"Sec-Fetch-Site": "same-origin"}, refused: "DNS rebinding"},
		{name: "rebinding POST", method: "POST", host: "evil.example:9901", header: map[string]string{
			"Origin": "http://evil.example:9901", "Sec-Fetch-Site": "same-origin"}, refused: "DNS rebinding"},
		{name: "a name ending in localhost", method: "GET", host: "localhost.evil.example", refused: "DNS rebinding"},
		{name: "the listener's LAN name", method: "GET", host: "192.168.1.5:9901", refused: "DNS rebinding"},
		{name: "no Host", method: "GET", host: "", refused: "DNS rebinding"},
		// A token forces a preflight on any browser call, so the guard
		// does not apply: the token holder may use any name.
		{name: "token by any name", method: "POST", host: "marquee.internal:9901", h: tokened, token: "s3cret", header: map[string]string{
			"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := map[string]string{"GET": "/v1/whoami", "POST": "/v1/events", "PUT": "/v1/profiles/v1", "DELETE": "/v1/profiles/v1"}[tt.method]
			req := httptest.NewRequest(tt.method, path, strings.NewReader(""))
			req.Host = tt.host
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			if tt.token != "" {
				req.Header.Set("Authorization", "Bearer "+tt.token)
			}
			h := tt.h
			if h == nil {
				h = anon
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if tt.refused == "" {
				if rec.Code == http.StatusForbidden || rec.Code == http.StatusUnauthorized {
					t.Fatalf("got %d %s, want the call let through", rec.Code, rec.Body)
				}
				return
			}
			var e struct {
				Error struct{ Code, Message string }
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil {
				t.Fatalf("%d %s: %v", rec.Code, rec.Body, err)
			}
			if rec.Code != http.StatusForbidden || e.Error.Code != apierror.CodeForbidden || !strings.Contains(e.Error.Message, tt.refused) {
				t.Fatalf("got %d %s, want 403 forbidden saying %q", rec.Code, rec.Body, tt.refused)
			}
		})
	}
}
