package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const (
	viewerToken = "viewer-token-0123456789"
	editorToken = "editor-token-0123456789"
)

// adminTokensConfig continues the admin section of startTestNode's config
// with a read and an edit token beside admin.token.
const adminTokensConfig = "  token: s3cret\n  tokens:\n    - {name: viewer, token: " + viewerToken + ", role: read}\n    - {name: editor, token: " + editorToken + ", role: edit}\n"

// tokenCall sends one admin call with token and returns the status and
// the body.
func tokenCall(t *testing.T, n *node, method, path, token, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, n.adminURL()+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(data)
}

// TestAdminTokensFromConfig checks admin.tokens reach the admin API with
// their names and roles.
func TestAdminTokensFromConfig(t *testing.T) {
	n := startTestNode(t, pageOrigin(), adminTokensConfig)
	tests := []struct {
		name, method, path, token string
		status                    int
		want                      string
	}{
		{"whoami read", "GET", "/v1/whoami", viewerToken, 200, `"name": "viewer"`},
		{"whoami edit", "GET", "/v1/whoami", editorToken, 200, `"role": "edit"`},
		{"whoami admin.token", "GET", "/v1/whoami", "s3cret", 200, `"name": "admin"`},
		{"read token writes", "PUT", "/v1/profiles/visitor-1", viewerToken, 403, `"code":"forbidden"`},
		{"edit token writes", "PUT", "/v1/profiles/visitor-1", editorToken, 200, `"attrs"`},
		{"read token reads", "GET", "/v1/profiles/visitor-1", viewerToken, 200, `"visitor-1"`},
		{"unknown token", "GET", "/v1/whoami", "viewer-token-012345678", 401, `"code":"unauthorized"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := tokenCall(t, n, tt.method, tt.path, tt.token, `{"attrs":{"tier":"gold"}}`)
			if status != tt.status || !strings.Contains(body, tt.want) {
				t.Errorf("got %d %s, want %d and %s", status, body, tt.status, tt.want)
			}
			if status == 200 && tt.path == "/v1/whoami" && !json.Valid([]byte(body)) {
				t.Errorf("whoami %q is not JSON", body)
			}
		})
	}
}

// TestAuditAcrossNodeRestart checks a node records its admin writes in
// data_dir/audit.log, serves them after a restart, and exports the
// audit's failure counter.
func TestAuditAcrossNodeRestart(t *testing.T) {
	dir := t.TempDir()
	extra := adminTokensConfig + "data_dir: " + dir + "\n"
	n := startTestNode(t, pageOrigin(), extra)
	if status, body := tokenCall(t, n, "DELETE", "/v1/profiles/visitor-1", editorToken, ""); status != 204 {
		t.Fatalf("DELETE: %d %s", status, body)
	}
	if status, body := tokenCall(t, n, "POST", "/v1/cache/purge", viewerToken, `{"all":true}`); status != 403 {
		t.Fatalf("purge with a read token: %d %s", status, body)
	}
	if err := n.close(context.Background()); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(dir, "audit.log"))
	if err != nil {
		t.Fatal(err)
	}
	if mode := st.Mode().Perm(); mode != 0o600 {
		t.Errorf("audit.log mode %o, want 600", mode)
	}

	n = startTestNode(t, pageOrigin(), extra)
	status, body := tokenCall(t, n, "GET", "/v1/audit", viewerToken, "")
	var out struct {
		Entries []struct{ By, Action, Summary string }
	}
	if err := json.Unmarshal([]byte(body), &out); status != 200 || err != nil {
		t.Fatalf("GET /v1/audit: %d %s", status, body)
	}
	want := []string{"viewer cache.purge refused: the token's role is read", "editor profile.delete profile visitor-1 erased"}
	var got []string
	for _, e := range out.Entries {
		got = append(got, e.By+" "+e.Action+" "+e.Summary)
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("after a restart: got %q, want %q", got, want)
	}
	if _, metrics := tokenCall(t, n, "GET", "/metrics", viewerToken, ""); !strings.Contains(metrics, "marquee_audit_write_errors_total 0") {
		t.Errorf("/metrics lacks marquee_audit_write_errors_total")
	}
}
