package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// adminServer answers every admin route the commands call with a minimal
// valid body, behind the bearer token token.
func adminServer(t *testing.T, token string) *httptest.Server {
	t.Helper()
	bodies := map[string]any{
		"GET /v1/stats":               cannedReport(),
		"POST /v1/preview":            map[string]string{"token": "p", "query": "mq_preview=p", "header": "X-Marquee-Preview: p", "expires": "2026-12-07T10:00:00Z"},
		"GET /v1/campaigns/history":   map[string]any{"versions": []any{}},
		"POST /v1/cache/purge":        map[string]any{"dropped": 0},
		"POST /v1/import":             map[string]any{"kind": "profiles", "imported": 1, "rejected": 0, "rejects": []any{}},
		"POST /v1/campaigns/rollback": map[string]any{"history_version": "2"},
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ok := bodies[r.Method+" "+r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		if r.Header.Get("Authorization") != "Bearer "+token {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"error":{"code":"unauthorized","message":"missing or wrong bearer token"}}`))
			return
		}
		_ = json.NewEncoder(w).Encode(body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestAdminCommandsOneFlagOneToken: every command that calls the admin
// API takes its URL as -admin and its token from -token or
// $MARQUEE_ADMIN_TOKEN, and says how to give the token when the API
// answers 401 without one.
func TestAdminCommandsOneFlagOneToken(t *testing.T) {
	srv := adminServer(t, "s3cret")
	file := filepath.Join(t.TempDir(), "p.ndjson")
	if err := os.WriteFile(file, []byte(`{"id":"a"}`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	commands := []struct {
		name string
		args []string
	}{
		{"stats", []string{"stats"}},
		{"preview", []string{"preview", "-campaign", "c"}},
		{"campaigns", []string{"campaigns", "history"}},
		{"cache", []string{"cache", "purge", "-all"}},
		{"import", []string{"import", file}},
	}
	for _, c := range commands {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv("MARQUEE_TOKEN", "")
			t.Setenv("MARQUEE_ADMIN_TOKEN", "")
			args := append(append([]string{}, c.args...), "-admin", srv.URL)
			code, _, stderr := runCLI(args...)
			want := "the admin API answered 401: give the token with -token TOKEN or MARQUEE_ADMIN_TOKEN=TOKEN\n"
			if code != 1 || !strings.HasSuffix(stderr, want) {
				t.Errorf("no token: code %d, stderr %q; want 1 and %q", code, stderr, want)
			}
			t.Setenv("MARQUEE_ADMIN_TOKEN", "s3cret")
			if code, _, stderr := runCLI(args...); code != 0 {
				t.Errorf("token from MARQUEE_ADMIN_TOKEN: code %d, stderr %q", code, stderr)
			}
		})
	}
	// import's earlier -server is another name for -admin.
	t.Setenv("MARQUEE_ADMIN_TOKEN", "s3cret")
	if code, _, stderr := runCLI("import", file, "-server", srv.URL); code != 0 {
		t.Errorf("import -server: code %d, stderr %q", code, stderr)
	}
	// -h never shows the token, whatever the environment holds.
	if _, _, stderr := runCLI("stats", "-h"); strings.Contains(stderr, "s3cret") || !strings.Contains(stderr, "$MARQUEE_ADMIN_TOKEN") {
		t.Errorf("stats -h: %q", stderr)
	}
}
