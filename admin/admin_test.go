package admin

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/marquee-proxy/marquee/internal/apierror"
	msync "github.com/marquee-proxy/marquee/sync"
)

func newAdminTest(t *testing.T, token string) (*httptest.Server, *msync.Store) {
	t.Helper()
	return newAdminNode(t, msync.Options{}, Options{Token: token})
}

// newAdminNode opens a store with so and serves the admin API over it with
// o until the test ends.
func newAdminNode(t *testing.T, so msync.Options, o Options) (*httptest.Server, *msync.Store) {
	t.Helper()
	st, err := msync.Open(so)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	o.Store = st
	h, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv, st
}

// adminDo sends a request with body, and token as a bearer token unless
// empty, and returns the response with its body read.
func adminDo(t *testing.T, srv *httptest.Server, method, path, token, body string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, data
}

// call is adminDo for the JSON API: it checks the answer is JSON and
// returns the status and the decoded body.
func call(t *testing.T, srv *httptest.Server, method, path, token, body string) (int, map[string]any) {
	t.Helper()
	resp, data := adminDo(t, srv, method, path, token, body)
	var out map[string]any
	if len(data) > 0 {
		if err := json.Unmarshal(data, &out); err != nil {
			t.Fatalf("%s %s: response %q is not JSON: %v", method, path, data, err)
		}
		if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("%s %s: Content-Type %q", method, path, ct)
		}
	}
	return resp.StatusCode, out
}

func TestAdminProfileLifecycle(t *testing.T) {
	srv, st := newAdminTest(t, "s3cret")
	const id = "AAAAAAAAAAAAAAAAAAAAAA"
	code, body := call(t, srv, "PUT", "/v1/profiles/"+id, "s3cret", `{"attrs":{"tier":"gold","name":"Ada","age":36,"vip":true},"scores":{"propensity":0.8}}`)
	if code != 200 {
		t.Fatalf("PUT: %d %v", code, body)
	}
	p, _ := st.Get(id)
	if p == nil || p.Attrs["tier"] != "gold" || p.Attrs["age"] != 36.0 || p.Attrs["vip"] != true || p.Scores["propensity"] != 0.8 {
		t.Fatalf("stored profile: %+v", p)
	}
	code, body = call(t, srv, "GET", "/v1/profiles/"+id, "s3cret", "")
	if code != 200 || body["attrs"].(map[string]any)["name"] != "Ada" || body["version"] == "" {
		t.Errorf("GET: %d %v", code, body)
	}
	code, _ = call(t, srv, "DELETE", "/v1/profiles/"+id, "s3cret", "")
	if code != 204 {
		t.Errorf("DELETE: %d", code)
	}
	code, body = call(t, srv, "GET", "/v1/profiles/"+id, "s3cret", "")
	if code != 404 || errField(body, "code") != apierror.CodeNotFound {
		t.Errorf("GET after DELETE: %d %v", code, body)
	}
}

func TestAdminRejects(t *testing.T) {
	srv, st := newAdminTest(t, "s3cret")
	const id = "visitor-1"
	if code, _ := call(t, srv, "PUT", "/v1/profiles/"+id, "s3cret", `{"attrs":{"tier":"gold"}}`); code != 200 {
		t.Fatalf("seed PUT: %d", code)
	}
	before, _ := st.Get(id)
	tests := []struct {
		name, method, path, token, body string
		status                          int
		code, field                     string
	}{
		{"no token", "PUT", "/v1/profiles/" + id, "", `{"attrs":{"tier":"x"}}`, 401, apierror.CodeUnauthorized, ""},
		{"wrong token", "PUT", "/v1/profiles/" + id, "nope", `{"attrs":{"tier":"x"}}`, 401, apierror.CodeUnauthorized, ""},
		{"read without token", "GET", "/v1/profiles/" + id, "", "", 401, apierror.CodeUnauthorized, ""},
		{"malformed JSON", "PUT", "/v1/profiles/" + id, "s3cret", `{"attrs":`, 400, apierror.CodeInvalidJSON, ""},
		{"not JSON at all", "PUT", "/v1/profiles/" + id, "s3cret", `tier=gold`, 400, apierror.CodeInvalidJSON, ""},
		{"empty body", "PUT", "/v1/profiles/" + id, "s3cret", ``, 400, apierror.CodeInvalidJSON, ""},
		{"trailing data", "PUT", "/v1/profiles/" + id, "s3cret", `{} {}`, 400, apierror.CodeInvalidJSON, ""},
		{"unknown field", "PUT", "/v1/profiles/" + id, "s3cret", `{"atrs":{}}`, 400, apierror.CodeUnknownField, "atrs"},
		{"wrong type attrs", "PUT", "/v1/profiles/" + id, "s3cret", `{"attrs":"gold"}`, 400, apierror.CodeInvalidField, "attrs"},
		{"wrong type score", "PUT", "/v1/profiles/" + id, "s3cret", `{"scores":{"p":"high"}}`, 400, apierror.CodeInvalidField, "scores.p"},
		{"nested attr", "PUT", "/v1/profiles/" + id, "s3cret", `{"attrs":{"tier":{"x":1}}}`, 400, apierror.CodeInvalidField, "attrs.tier"},
		{"huge number", "PUT", "/v1/profiles/" + id, "s3cret", `{"attrs":{"n":1e999}}`, 400, apierror.CodeInvalidField, "attrs.n"},
		{"bad id", "PUT", "/v1/profiles/bad%20id", "s3cret", `{}`, 400, apierror.CodeInvalidID, "id"},
		{"unknown path", "GET", "/v1/nothing", "s3cret", "", 404, apierror.CodeNotFound, ""},
		{"wrong method", "POST", "/v1/profiles/" + id, "s3cret", "{}", 405, apierror.CodeMethodNotAllowed, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := call(t, srv, tt.method, tt.path, tt.token, tt.body)
			if code != tt.status || errField(body, "code") != tt.code || errField(body, "field") != tt.field {
				t.Errorf("got %d %v; want %d code %q field %q", code, body, tt.status, tt.code, tt.field)
			}
			if msg := errField(body, "message"); msg == "" {
				t.Errorf("no message in %v", body)
			}
		})
	}
	if after, _ := st.Get(id); after != before {
		t.Errorf("rejected calls changed the profile: %+v", after)
	}
	if code, _ := call(t, srv, "GET", "/healthz", "", ""); code != 200 {
		t.Errorf("/healthz without token: %d", code)
	}
}

func errField(body map[string]any, key string) string {
	e, _ := body["error"].(map[string]any)
	s, _ := e[key].(string)
	return s
}

func TestAdminPprofNeedsToken(t *testing.T) {
	srv, _ := newAdminTest(t, "s3cret")
	req, _ := http.NewRequest("GET", srv.URL+"/debug/pprof/", nil)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Errorf("pprof without token: %d, want 401", resp.StatusCode)
	}
	req.Header.Set("Authorization", "Bearer s3cret")
	resp, err = srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("pprof with token: %d, want 200", resp.StatusCode)
	}
}
