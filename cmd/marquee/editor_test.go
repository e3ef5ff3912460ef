package main

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/marquee-proxy/marquee/config"
)

// editorConfig greets gold visitors in the hero slot of originPage.
const editorConfig = `segments:
  gold: 'attrs.tier == "gold"'
campaigns:
  - id: gold-hero
    slot: hero
    when: gold
    template: '<b>Hello {{.Profile.Attrs.name}}</b>'
`

// editorDraft replaces the gold hero with a campaign for everyone.
const editorDraft = `campaigns:
  - id: new-hero
    slot: hero
    template: '<b>DRAFT for {{or .Profile.Attrs.name "you"}}</b>'
`

// adminJSON sends body to the node's admin API and decodes the answer.
func adminJSON(t *testing.T, n *node, method, path, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, n.adminURL()+path, strings.NewReader(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatalf("%s %s: %q is not JSON", method, path, data)
	}
	return resp.StatusCode, out
}

// TestEditorPagePreview wires the campaign editor's page preview through a
// whole node: the link names this node's proxy, opens the page with the
// draft's campaign for the chosen visitor, and lets the console's origin
// (the admin listener) frame a page whose origin forbids framing.
func TestEditorPagePreview(t *testing.T) {
	n := startTestNode(t, pageOrigin("X-Frame-Options", "SAMEORIGIN", "Content-Security-Policy", "frame-ancestors 'self'; img-src *"), editorConfig)
	if code, body := adminJSON(t, n, "PUT", "/v1/profiles/ada", `{"attrs": {"tier": "silver", "name": "Ada"}}`); code != 200 {
		t.Fatalf("PUT profile: %d %v", code, body)
	}
	doc, _ := json.Marshal(editorDraft)
	code, body := adminJSON(t, n, "POST", "/v1/campaigns/preview", `{"campaign": "new-hero", "visitor": "ada", "url": "/?a=1", "document": `+string(doc)+`}`)
	if code != 200 || body["html"] != "<b>DRAFT for Ada</b>" {
		t.Fatalf("preview: %d %v", code, body)
	}
	pageURL, _ := body["page_url"].(string)
	if !strings.HasPrefix(pageURL, n.proxyURL()+"/?a=1&mq_preview=") {
		t.Fatalf("page_url %q does not open /?a=1 on the proxy %s", pageURL, n.proxyURL())
	}
	_, port, _ := net.SplitHostPort(n.adminLn.Addr().String())
	console := "frame-ancestors http://127.0.0.1:" + port + " http://localhost:" + port
	tests := []struct {
		name, url, show string
		xfo             string
		csp             []string
	}{
		{"preview link", pageURL, "<b>DRAFT for Ada</b>", "", []string{"img-src *", console}},
		{"ordinary request", n.proxyURL() + "/?a=1", "Free shipping", "SAMEORIGIN", []string{"frame-ancestors 'self'; img-src *"}},
		{"altered link", strings.Replace(pageURL, "mq_preview=", "mq_preview=x", 1), "Free shipping", "SAMEORIGIN", []string{"frame-ancestors 'self'; img-src *"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, page := newBrowser(t).get(tt.url)
			if !strings.Contains(page, tt.show) || (tt.show != "<b>DRAFT for Ada</b>" && strings.Contains(page, "DRAFT")) {
				t.Errorf("page lacks %q or shows the draft:\n%s", tt.show, page)
			}
			if got := resp.Header.Get("X-Frame-Options"); got != tt.xfo {
				t.Errorf("got X-Frame-Options %q, want %q", got, tt.xfo)
			}
			if got := resp.Header.Values("Content-Security-Policy"); strings.Join(got, "|") != strings.Join(tt.csp, "|") {
				t.Errorf("got Content-Security-Policy %q, want %q", got, tt.csp)
			}
		})
	}
}

func TestPreviewURLDefault(t *testing.T) {
	addr := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 41234}
	tests := []struct {
		listen, explicit, want string
	}{
		{"127.0.0.1:0", "", "http://127.0.0.1:41234"},
		{"shop.internal:8000", "", "http://shop.internal:41234"},
		{"[::1]:8000", "", "http://[::1]:41234"},
		{"0.0.0.0:8000", "", ""},
		{"[::]:8000", "", ""},
		{":8000", "", ""},
		{"0.0.0.0:8000", "https://shop.example", "https://shop.example"},
	}
	for _, tt := range tests {
		cfg := &config.Config{Listen: tt.listen}
		cfg.Admin.PreviewURL = tt.explicit
		if got := previewURL(cfg, addr); got != tt.want {
			t.Errorf("listen %q, preview_url %q: got %q, want %q", tt.listen, tt.explicit, got, tt.want)
		}
	}
	for listen, want := range map[string]string{
		"127.0.0.1:8000": "  preview_url: \"http://127.0.0.1:8000\"\n",
		"0.0.0.0:8000":   "  preview_url: \"http://127.0.0.1:8000\"\n",
		":8001":          "  preview_url: \"http://127.0.0.1:8001\"\n",
		"127.0.0.1:0":    "",
	} {
		if got := demoPreviewURL(listen); got != want {
			t.Errorf("demoPreviewURL(%q) = %q, want %q", listen, got, want)
		}
	}
}
