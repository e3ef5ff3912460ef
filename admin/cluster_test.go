package admin

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/marquee-proxy/marquee/internal/apierror"
)

// fakeCluster records what the admin API publishes.
type fakeCluster struct {
	mu        sync.Mutex
	published []string
}

func (c *fakeCluster) Status() any {
	return map[string]any{"node": "edge-1", "members": []string{"edge-1", "edge-2"}}
}

func (c *fakeCluster) PublishCampaigns(doc []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.published = append(c.published, string(doc))
}

func (c *fakeCluster) docs() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.published...)
}

// readSpy is a request body that remembers whether anyone read it.
type readSpy struct {
	r    io.Reader
	read bool
}

func (s *readSpy) Read(p []byte) (int, error) {
	s.read = true
	return s.r.Read(p)
}

// TestClusterRoutesAuthenticated checks that the cluster's routes go
// through the one authentication path: a request without the token gets
// the common 401, and its body is never read.
func TestClusterRoutesAuthenticated(t *testing.T) {
	const token = "s3cret"
	env := startPersonalized(t, goldConfig, slotPage)
	fleet := &fakeCluster{}
	h, err := New(Options{Token: token, Store: env.Store, Personalizer: env.Pers, Cluster: fleet})
	if err != nil {
		t.Fatal(err)
	}
	valid := "campaigns:\n  - {id: v1, slot: hero, template: '<b>V1</b>'}\n"
	tests := []struct {
		name, method, path, token, body string
		status                          int
		code                            string
		published                       []string
	}{
		{"status without token", "GET", "/v1/cluster", "", "", 401, apierror.CodeUnauthorized, nil},
		{"status with a wrong token", "GET", "/v1/cluster", "nope", "", 401, apierror.CodeUnauthorized, nil},
		{"status", "GET", "/v1/cluster", token, "", 200, "", nil},
		{"publish without token", "PUT", "/v1/campaigns", "", valid, 401, apierror.CodeUnauthorized, nil},
		{"a refused document is not published", "PUT", "/v1/campaigns", token, "campaigns: [", 400, apierror.CodeInvalidConfig, nil},
		{"publish", "PUT", "/v1/campaigns", token, valid, 200, "", []string{valid}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := &readSpy{r: strings.NewReader(tt.body)}
			req := httptest.NewRequest(tt.method, tt.path, body)
			if tt.token != "" {
				req.Header.Set("Authorization", "Bearer "+tt.token)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", w.Code, tt.status, w.Body)
			}
			var got struct {
				Error *apierror.Error `json:"error"`
				Node  string          `json:"node"`
			}
			if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
				t.Fatalf("answer %q is not JSON: %v", w.Body, err)
			}
			switch {
			case tt.code != "":
				if got.Error == nil || got.Error.Code != tt.code {
					t.Fatalf("answer %s, want code %q", w.Body, tt.code)
				}
			case tt.path == "/v1/cluster" && got.Node != "edge-1":
				t.Fatalf("status %s", w.Body)
			}
			if tt.status == http.StatusUnauthorized {
				if body.read {
					t.Error("the body was read before the token was checked")
				}
				if w.Header().Get("WWW-Authenticate") == "" {
					t.Error("401 without WWW-Authenticate")
				}
			}
			if docs := fleet.docs(); strings.Join(docs, "|") != strings.Join(tt.published, "|") {
				t.Errorf("published %q, want %q", docs, tt.published)
			}
		})
	}
}
