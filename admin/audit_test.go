package admin

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/marquee-proxy/marquee/internal/apierror"
	"github.com/marquee-proxy/marquee/opstate"
	msync "github.com/marquee-proxy/marquee/sync"
)

// auditServer serves fullAdmin with roleTokens and an audit log in dir.
func auditServer(t *testing.T, dir string) (*httptest.Server, *opstate.Audit) {
	t.Helper()
	log, err := opstate.OpenAudit(dir, opstate.AuditOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { log.Close() })
	a := fullAdmin(t, Options{Tokens: roleTokens, Audit: log})
	srv := httptest.NewServer(a.handler)
	t.Cleanup(srv.Close)
	return srv, log
}

// auditEntries returns GET /v1/audit's entries with query q.
func auditEntries(t *testing.T, srv *httptest.Server, q string) []opstate.AuditEntry {
	t.Helper()
	resp, data := adminDo(t, srv, "GET", "/v1/audit"+q, viewerToken, "")
	if resp.StatusCode != 200 {
		t.Fatalf("GET /v1/audit%s: %d %s", q, resp.StatusCode, data)
	}
	var out struct{ Entries []opstate.AuditEntry }
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatal(err)
	}
	return out.Entries
}

// Values of the calls below that the audit log must not keep.
const (
	secretEmail = "ada.lovelace@example.com"
	secretCity  = "Kalamazoo"
)

// TestAuditEntries makes each kind of write call, answered and refused,
// and checks the entry each leaves.
func TestAuditEntries(t *testing.T) {
	dir := t.TempDir()
	srv, _ := auditServer(t, dir)
	docA := "segments:\n  gold: 'attrs.tier == \"gold\"'\ncampaigns:\n  - {id: a, slot: hero, when: gold, template: '<b>A</b>'}\n"
	docB := "campaigns:\n  - {id: b, slot: hero, template: '<b>B</b>'}\n  - {id: c, slot: hero, template: '<b>C</b>'}\n"
	tests := []struct {
		name, method, path, token, body string
		want                            opstate.AuditEntry
	}{
		{"put profile", "PUT", "/v1/profiles/visitor-123", editorToken, `{"attrs":{"tier":"gold","email":"` + secretEmail + `"},"scores":{"p":0.5}}`,
			opstate.AuditEntry{By: "editor", Role: "edit", Action: "profile.put", Status: 200, Summary: "profile visitor-123 replaced (2 attributes, 1 score)"}},
		{"patch profile", "PATCH", "/v1/profiles/visitor-123", editorToken, `{"attrs":{"tier":null,"city":"` + secretCity + `"},"consent":{"personalization":true}}`,
			opstate.AuditEntry{By: "editor", Role: "edit", Action: "profile.patch", Status: 200, Summary: "profile visitor-123 patched (2 attrs, consent)"}},
		{"events", "POST", "/v1/events", editorToken, `[{"id":"e1","type":"view","visitor":"v1","category":"x"},{"id":"e2","type":"view","visitor":"v1","category":"x"},{"id":"e3","type":"dance","visitor":"v1"}]`,
			opstate.AuditEntry{By: "editor", Role: "edit", Action: "events.post", Status: 200, Summary: "events: 2 accepted, 1 rejected"}},
		{"import", "POST", "/v1/import?kind=profiles", editorToken, "{\"id\":\"u1\",\"attrs\":{\"city\":\"" + secretCity + "\"}}\n{\"id\":\"bad id\"}\n",
			opstate.AuditEntry{By: "editor", Role: "edit", Action: "import", Status: 200, Summary: "import of profiles: 1 imported, 1 rejected"}},
		{"publish", "PUT", "/v1/campaigns", editorToken, docA,
			opstate.AuditEntry{By: "editor", Role: "edit", Action: "campaigns.publish", Status: 200, Summary: "published version 1 (1 segment, 1 campaign)", Version: "1"}},
		{"publish again", "PUT", "/v1/campaigns", editorToken, docB,
			opstate.AuditEntry{By: "editor", Role: "edit", Action: "campaigns.publish", Status: 200, Summary: "published version 2 (0 segments, 2 campaigns)", Version: "2"}},
		{"rollback", "POST", "/v1/campaigns/rollback", editorToken, `{"version": "1"}`,
			opstate.AuditEntry{By: "editor", Role: "edit", Action: "campaigns.rollback", Status: 200, Summary: "rolled back to version 1 as version 3 (1 segment, 1 campaign)", Version: "3"}},
		{"purge", "POST", "/v1/cache/purge", editorToken, `{"tags":["sale","spring"],"prefixes":["/c/"],"urls":["/p/1?token=x"]}`,
			opstate.AuditEntry{By: "editor", Role: "edit", Action: "cache.purge", Status: 200, Summary: "purged 4 entries (tags: sale, spring; prefixes: /c/; 1 url)"}},
		{"erase", "DELETE", "/v1/profiles/visitor-123", editorToken, "",
			opstate.AuditEntry{By: "editor", Role: "edit", Action: "profile.delete", Status: 204, Summary: "profile visitor-123 erased"}},
		{"read token refused", "PUT", "/v1/profiles/visitor-9", viewerToken, `{"attrs":{"email":"` + secretEmail + `"}}`,
			opstate.AuditEntry{By: "viewer", Role: "read", Action: "profile.put", Status: 403, Summary: "refused: the token's role is read"}},
		{"read token refused a purge", "POST", "/v1/cache/purge", viewerToken, `{"all":true}`,
			opstate.AuditEntry{By: "viewer", Role: "read", Action: "cache.purge", Status: 403, Summary: "refused: the token's role is read"}},
		{"bad attribute", "PUT", "/v1/profiles/visitor-9", editorToken, `{"attrs":{"email":{"v":"` + secretEmail + `"}}}`,
			opstate.AuditEntry{By: "editor", Role: "edit", Action: "profile.put", Status: 400, Summary: "failed: invalid_field (attrs.email)"}},
		{"bad document", "PUT", "/v1/campaigns", editorToken, "campaigns: [{id: x}]\n",
			opstate.AuditEntry{By: "editor", Role: "edit", Action: "campaigns.publish", Status: 400, Summary: "failed: invalid_config"}},
		{"missing version", "POST", "/v1/campaigns/rollback", editorToken, `{"version": "99"}`,
			opstate.AuditEntry{By: "editor", Role: "edit", Action: "campaigns.rollback", Status: 404, Summary: "failed: not_found (version)"}},
	}
	start := time.Now()
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, data := adminDo(t, srv, tt.method, tt.path, tt.token, tt.body)
			if resp.StatusCode != tt.want.Status {
				t.Fatalf("call: %d %s, want %d", resp.StatusCode, data, tt.want.Status)
			}
			got := auditEntries(t, srv, "?limit=1")
			if len(got) != 1 {
				t.Fatalf("got %d entries, want the newest", len(got))
			}
			g, want := got[0], tt.want
			want.Method, want.Path, want.Remote = tt.method, strings.Split(tt.path, "?")[0], "127.0.0.1"
			want.Time = g.Time
			if g != want {
				t.Errorf("got  %+v\nwant %+v", g, want)
			}
			if g.Time.Before(start) || g.Time.After(time.Now()) {
				t.Errorf("time %s, not during the test", g.Time)
			}
			if n := len(auditEntries(t, srv, "?limit=1000")); n != i+1 {
				t.Errorf("%d entries after %d calls", n, i+1)
			}
		})
	}

	// Reads, and calls without a valid token, are not recorded.
	for _, c := range []struct{ method, path, token string }{
		{"GET", "/v1/profiles/visitor-123", viewerToken},
		{"POST", "/v1/preview", viewerToken},
		{"PUT", "/v1/profiles/visitor-123", ""},
		{"DELETE", "/v1/profiles/visitor-123", "wrong-token-0123456789"},
	} {
		adminDo(t, srv, c.method, c.path, c.token, `{}`)
	}
	all := auditEntries(t, srv, "")
	if len(all) != len(tests) {
		t.Errorf("%d entries after reads and 401s, want %d", len(all), len(tests))
	}

	// Neither the log file nor the API keeps tokens or body values.
	file, err := os.ReadFile(filepath.Join(dir, opstate.AuditFile))
	if err != nil {
		t.Fatal(err)
	}
	_, api := adminDo(t, srv, "GET", "/v1/audit", viewerToken, "")
	for _, secret := range []string{viewerToken, editorToken, secretEmail, secretCity, "token=x", "<b>A</b>"} {
		if strings.Contains(string(file), secret) || strings.Contains(string(api), secret) {
			t.Errorf("the audit log holds %q", secret)
		}
	}
	if n := strings.Count(string(file), "\n"); n != len(tests) {
		t.Errorf("%d lines in the file, want %d", n, len(tests))
	}
}

// TestAuditAcrossRestart checks entries recorded before a restart are
// served after it.
func TestAuditAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	srv, log := auditServer(t, dir)
	for _, id := range []string{"a", "b", "c"} {
		if resp, data := adminDo(t, srv, "DELETE", "/v1/profiles/"+id, editorToken, ""); resp.StatusCode != 204 {
			t.Fatalf("DELETE: %d %s", resp.StatusCode, data)
		}
	}
	before := auditEntries(t, srv, "")
	srv.Close()
	log.Close()

	srv, _ = auditServer(t, dir)
	after := auditEntries(t, srv, "")
	if len(after) != 3 || after[0].Summary != "profile c erased" || after[2].Summary != "profile a erased" {
		t.Fatalf("after a restart: %+v", after)
	}
	for i := range after {
		if !after[i].Time.Equal(before[i].Time) || after[i].Path != before[i].Path {
			t.Errorf("entry %d: got %+v, want %+v", i, after[i], before[i])
		}
	}
}

func TestGetAuditParams(t *testing.T) {
	srv, _ := auditServer(t, "")
	for _, id := range []string{"a", "b", "c", "d"} {
		adminDo(t, srv, "DELETE", "/v1/profiles/"+id, editorToken, "")
	}
	all := auditEntries(t, srv, "")
	if len(all) != 4 {
		t.Fatalf("got %d entries, want 4", len(all))
	}
	tests := []struct {
		name  string
		query string
		want  []string // summaries, or the field a 400 names
		field string
	}{
		{"default", "", []string{"profile d erased", "profile c erased", "profile b erased", "profile a erased"}, ""},
		{"limit", "?limit=2", []string{"profile d erased", "profile c erased"}, ""},
		{"before", "?before=" + all[1].Time.Format(time.RFC3339Nano), []string{"profile b erased", "profile a erased"}, ""},
		{"before and limit", "?limit=1&before=" + all[1].Time.Format(time.RFC3339Nano), []string{"profile b erased"}, ""},
		{"before all", "?before=2000-01-01T00:00:00Z", []string{}, ""},
		{"limit zero", "?limit=0", nil, "limit"},
		{"limit too large", "?limit=1001", nil, "limit"},
		{"limit not a number", "?limit=ten", nil, "limit"},
		{"before not a time", "?before=yesterday", nil, "before"},
		{"before without zone", "?before=2026-12-07T09:00:00", nil, "before"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.field != "" {
				code, body := call(t, srv, "GET", "/v1/audit"+tt.query, viewerToken, "")
				if code != 400 || errField(body, "code") != apierror.CodeInvalidField || errField(body, "field") != tt.field {
					t.Errorf("got %d %v, want 400 invalid_field %q", code, body, tt.field)
				}
				return
			}
			got := []string{}
			for _, e := range auditEntries(t, srv, tt.query) {
				got = append(got, e.Summary)
			}
			if strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
	if code, _ := call(t, srv, "GET", "/v1/audit", "", ""); code != http.StatusUnauthorized {
		t.Errorf("without a token: %d, want 401", code)
	}
}

// failingAudit is an AuditLog whose disk is full.
type failingAudit struct{ appended int }

func (f *failingAudit) Append(opstate.AuditEntry) error {
	f.appended++
	return os.ErrPermission
}

func (f *failingAudit) List(int, time.Time) []opstate.AuditEntry { return nil }

// TestAuditFailureKeepsTheCall checks a write the audit log cannot record
// is still carried out and answered.
func TestAuditFailureKeepsTheCall(t *testing.T) {
	fa := &failingAudit{}
	srv, st := newAdminNode(t, msync.Options{}, Options{Tokens: roleTokens, Audit: fa})
	code, body := call(t, srv, "PUT", "/v1/profiles/visitor-1", editorToken, `{"attrs":{"tier":"gold"}}`)
	if code != 200 {
		t.Fatalf("PUT: %d %v", code, body)
	}
	if p, _ := st.Get("visitor-1"); p == nil || p.Attrs["tier"] != "gold" {
		t.Errorf("stored: %+v", p)
	}
	if fa.appended != 1 {
		t.Errorf("%d appends, want 1", fa.appended)
	}
}

// TestRefusalsRateLimited: a read token refused over and over leaves one
// entry a minute per route, counting the others, so it cannot push an
// editor's writes out of the log.
func TestRefusalsRateLimited(t *testing.T) {
	srv, _ := auditServer(t, t.TempDir())
	if resp, data := adminDo(t, srv, "DELETE", "/v1/profiles/visitor-1", editorToken, ""); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("DELETE: %d %s", resp.StatusCode, data)
	}
	for range 50 {
		if resp, _ := adminDo(t, srv, "POST", "/v1/events", viewerToken, "[]"); resp.StatusCode != http.StatusForbidden {
			t.Fatalf("read token POST /v1/events: %d, want 403", resp.StatusCode)
		}
	}
	resp, _ := adminDo(t, srv, "PUT", "/v1/campaigns", viewerToken, "campaigns: []\n")
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("read token PUT /v1/campaigns: %d, want 403", resp.StatusCode)
	}
	var got []string
	for _, e := range auditEntries(t, srv, "") {
		got = append(got, e.By+" "+e.Action+" "+strconv.Itoa(e.Status))
	}
	want := []string{"viewer campaigns.publish 403", "viewer events.post 403", "editor profile.delete 204"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("entries %q, want %q", got, want)
	}
}

func TestRefusalsAllow(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	var rs refusals
	steps := []struct {
		key  string
		at   time.Duration
		want int
	}{
		{"viewer events.post", 0, 0},
		{"viewer events.post", time.Second, -1},
		{"viewer import", 2 * time.Second, 0}, // another route: its own window
		{"viewer events.post", 59 * time.Second, -1},
		{"viewer events.post", 61 * time.Second, 2},
		{"viewer events.post", 62 * time.Second, -1},
		{"viewer events.post", 10 * time.Minute, 1},
		{"viewer events.post", 20 * time.Minute, 0},
	}
	for i, s := range steps {
		if got := rs.allow(s.key, t0.Add(s.at)); got != s.want {
			t.Errorf("step %d: allow(%q, +%v) = %d, want %d", i, s.key, s.at, got, s.want)
		}
	}
}
