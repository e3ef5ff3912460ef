package admin

import (
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/marquee-proxy/marquee/internal/apierror"
	"github.com/marquee-proxy/marquee/opstate"
	"github.com/marquee-proxy/marquee/personalize"
)

// memCampaigns is a Campaigns over an in-memory history, numbering
// versions 1, 2, 3…
type memCampaigns struct {
	mu   sync.Mutex
	p    *personalize.Personalizer
	h    *opstate.History
	next uint64
}

func (m *memCampaigns) Apply(doc []byte, name, by string) (opstate.Entry, *personalize.Snapshot, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	snap, err := m.p.Snapshot().WithDecisions(name, doc)
	if err != nil {
		return opstate.Entry{}, nil, err
	}
	m.next++
	m.p.Swap(snap)
	e, err := m.h.Put(opstate.Entry{Version: m.next, Time: time.Now(), By: by, Segments: len(snap.Config.Segments), Campaigns: len(snap.Config.Campaigns)}, doc)
	return e, snap, err
}

func (m *memCampaigns) History() []opstate.Entry { return m.h.List() }

func (m *memCampaigns) Version(v uint64) (opstate.Entry, []byte, bool, error) { return m.h.Get(v) }

func newHistoryTest(t *testing.T) (*httptest.Server, func(path string) string) {
	t.Helper()
	env := startPersonalized(t, goldConfig, slotPage)
	hist, _ := opstate.Open("", opstate.Options{})
	h, err := New(Options{Token: "s3cret", Store: env.Store, Personalizer: env.Pers, Campaigns: &memCampaigns{p: env.Pers, h: hist}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	page := func(path string) string { return string(env.Proxy.Get(t, "GET", path).Body()) }
	return srv, page
}

func TestCampaignHistoryAndRollback(t *testing.T) {
	srv, page := newHistoryTest(t)
	docA := "campaigns:\n  - {id: a, slot: hero, template: '<b>A</b>'}\n"
	docB := "campaigns:\n  - {id: b, slot: hero, template: '<b>B</b>'}\n"
	for i, doc := range []string{docA, docB} {
		code, body := call(t, srv, "PUT", "/v1/campaigns", "s3cret", doc)
		if code != 200 || body["history_version"] != []string{"1", "2"}[i] {
			t.Fatalf("PUT %d: %d %v", i, code, body)
		}
	}
	if !strings.Contains(page("/"), "<b>B</b>") {
		t.Fatal("B is not served")
	}
	code, body := call(t, srv, "GET", "/v1/campaigns/history", "s3cret", "")
	vs, _ := body["versions"].([]any)
	if code != 200 || len(vs) != 2 {
		t.Fatalf("history: %d %v", code, body)
	}
	newest := vs[0].(map[string]any)
	if newest["version"] != "2" || newest["by"] != "api" || newest["campaigns"] != 1.0 || newest["hash"] != opstate.Hash([]byte(docB)) {
		t.Errorf("newest version %v", newest)
	}
	if _, err := time.Parse(time.RFC3339, newest["time"].(string)); err != nil {
		t.Errorf("time %v: %v", newest["time"], err)
	}
	code, body = call(t, srv, "GET", "/v1/campaigns/history/1", "s3cret", "")
	if code != 200 || body["document"] != docA || body["version"] != "1" {
		t.Errorf("version 1: %d %v", code, body)
	}

	code, body = call(t, srv, "POST", "/v1/campaigns/rollback", "s3cret", `{"version": 1}`)
	if code != 200 || body["history_version"] != "3" {
		t.Fatalf("rollback: %d %v", code, body)
	}
	if !strings.Contains(page("/"), "<b>A</b>") {
		t.Error("the rolled-back document is not served")
	}
	_, body = call(t, srv, "GET", "/v1/campaigns/history", "s3cret", "")
	vs, _ = body["versions"].([]any)
	if top := vs[0].(map[string]any); len(vs) != 3 || top["by"] != "rollback" || top["hash"] != opstate.Hash([]byte(docA)) {
		t.Errorf("history after rollback: %v", vs)
	}
	// A version given as the history lists it, a string, works too.
	if code, body := call(t, srv, "POST", "/v1/campaigns/rollback", "s3cret", `{"version": "2"}`); code != 200 || body["history_version"] != "4" {
		t.Errorf("rollback by string: %d %v", code, body)
	}
}

func TestCampaignHistoryBadRequests(t *testing.T) {
	srv, _ := newHistoryTest(t)
	if code, body := call(t, srv, "PUT", "/v1/campaigns", "s3cret", "campaigns: []\n"); code != 200 {
		t.Fatalf("PUT: %d %v", code, body)
	}
	tests := []struct {
		name, method, path, token, body string
		status                          int
		code, field                     string
	}{
		{"unknown version", "GET", "/v1/campaigns/history/999", "s3cret", "", 404, apierror.CodeNotFound, "version"},
		{"version not a number", "GET", "/v1/campaigns/history/abc", "s3cret", "", 400, apierror.CodeInvalidField, "version"},
		{"negative version", "GET", "/v1/campaigns/history/-1", "s3cret", "", 400, apierror.CodeInvalidField, "version"},
		{"rollback to unknown version", "POST", "/v1/campaigns/rollback", "s3cret", `{"version": 999}`, 404, apierror.CodeNotFound, "version"},
		{"rollback bad JSON", "POST", "/v1/campaigns/rollback", "s3cret", `{"version": `, 400, apierror.CodeInvalidJSON, ""},
		{"rollback empty body", "POST", "/v1/campaigns/rollback", "s3cret", ``, 400, apierror.CodeInvalidJSON, ""},
		{"rollback version a boolean", "POST", "/v1/campaigns/rollback", "s3cret", `{"version": true}`, 400, apierror.CodeInvalidField, "version"},
		{"rollback version a fraction", "POST", "/v1/campaigns/rollback", "s3cret", `{"version": 1.5}`, 400, apierror.CodeInvalidField, "version"},
		{"rollback version not digits", "POST", "/v1/campaigns/rollback", "s3cret", `{"version": "v1"}`, 400, apierror.CodeInvalidField, "version"},
		{"rollback without version", "POST", "/v1/campaigns/rollback", "s3cret", `{}`, 400, apierror.CodeInvalidField, "version"},
		{"rollback unknown field", "POST", "/v1/campaigns/rollback", "s3cret", `{"version": 1, "force": true}`, 400, apierror.CodeUnknownField, "force"},
		{"rollback an array", "POST", "/v1/campaigns/rollback", "s3cret", `[1]`, 400, apierror.CodeInvalidField, ""},
		{"history without token", "GET", "/v1/campaigns/history", "", "", 401, apierror.CodeUnauthorized, ""},
		{"version without token", "GET", "/v1/campaigns/history/1", "", "", 401, apierror.CodeUnauthorized, ""},
		{"rollback without token", "POST", "/v1/campaigns/rollback", "", `{"version": 1}`, 401, apierror.CodeUnauthorized, ""},
		{"rollback wrong token", "POST", "/v1/campaigns/rollback", "wrong", `{"version": 1}`, 401, apierror.CodeUnauthorized, ""},
		{"history wrong method", "DELETE", "/v1/campaigns/history", "s3cret", "", 405, apierror.CodeMethodNotAllowed, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := call(t, srv, tt.method, tt.path, tt.token, tt.body)
			if code != tt.status || errField(body, "code") != tt.code || errField(body, "field") != tt.field {
				t.Errorf("%d %v, want %d %s field %q", code, body, tt.status, tt.code, tt.field)
			}
		})
	}
	// Nothing above changed the history.
	if _, body := call(t, srv, "GET", "/v1/campaigns/history", "s3cret", ""); len(body["versions"].([]any)) != 1 {
		t.Errorf("history changed: %v", body)
	}
}

func TestCampaignDiff(t *testing.T) {
	srv, _ := newHistoryTest(t)
	docA := "campaigns:\n  - {id: a, slot: hero, template: '<b>A</b>'}\n"
	docB := "campaigns:\n  - {id: a, slot: hero, template: '<b>B</b>'}\n"
	for _, doc := range []string{docA, docB} {
		if code, body := call(t, srv, "PUT", "/v1/campaigns", "s3cret", doc); code != 200 {
			t.Fatalf("PUT: %d %v", code, body)
		}
	}
	label := func(v string) string {
		_, e := call(t, srv, "GET", "/v1/campaigns/history/"+v, "s3cret", "")
		at, err := time.Parse(time.RFC3339Nano, e["time"].(string))
		if err != nil {
			t.Fatal(err)
		}
		return "version " + v + " (by " + e["by"].(string) + " at " + at.Format(time.RFC3339) + ")"
	}
	tests := []struct {
		name, query, token string
		status             int
		diff, code         string
	}{
		{"forward", "from=1&to=2", "s3cret", 200,
			"--- " + label("1") + "\n+++ " + label("2") + "\n@@ -1,2 +1,2 @@\n campaigns:\n-  - {id: a, slot: hero, template: '<b>A</b>'}\n+  - {id: a, slot: hero, template: '<b>B</b>'}\n", ""},
		{"backward", "from=2&to=1", "s3cret", 200,
			"--- " + label("2") + "\n+++ " + label("1") + "\n@@ -1,2 +1,2 @@\n campaigns:\n-  - {id: a, slot: hero, template: '<b>B</b>'}\n+  - {id: a, slot: hero, template: '<b>A</b>'}\n", ""},
		{"same version", "from=2&to=2", "s3cret", 200, "", ""},
		{"needs the token", "from=1&to=2", "", 401, "", apierror.CodeUnauthorized},
		{"missing to", "from=1", "s3cret", 400, "", apierror.CodeInvalidField},
		{"not a number", "from=one&to=2", "s3cret", 400, "", apierror.CodeInvalidField},
		{"unknown version", "from=1&to=99", "s3cret", 404, "", apierror.CodeNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := call(t, srv, "GET", "/v1/campaigns/diff?"+tt.query, tt.token, "")
			if code != tt.status {
				t.Fatalf("status %d, want %d: %v", code, tt.status, body)
			}
			if tt.code != "" {
				if got := errField(body, "code"); got != tt.code {
					t.Errorf("code %q, want %q", got, tt.code)
				}
				return
			}
			if body["diff"] != tt.diff {
				t.Errorf("diff:\n%v\nwant:\n%s", body["diff"], tt.diff)
			}
		})
	}
}
