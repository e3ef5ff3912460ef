package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// buildMarquee builds the command once per test binary run.
func buildMarquee(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the marquee binary; skipped with -short")
	}
	bin := filepath.Join(t.TempDir(), "marquee")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("go build: %v", err)
	}
	return bin
}

const originPage = `<!doctype html>
<html><head><meta charset="utf-8"><title>Shop</title></head>
<body>
<header><div data-marquee-slot="hero"><a href="/sale">Free shipping on orders over $50</a></div></header>
<main><p>Our products</p></main>
</body></html>`

// TestServeBlackBox runs the built binary with the configuration of the
// README against an origin on loopback, as an operator would.
func TestServeBlackBox(t *testing.T) {
	bin := buildMarquee(t)

	originURL := serveOrigin(t, nil, pageOrigin("Cache-Control", "public, max-age=300", "ETag", `"page-v1"`))

	cfg := filepath.Join(t.TempDir(), "marquee.yaml")
	os.WriteFile(cfg, []byte(`listen: 127.0.0.1:0
origin: `+originURL+`
admin:
  listen: 127.0.0.1:0
  token: s3cret
data_dir: ""
identity:
  cookie: mq_vid
  keys: []
segments:
  gold: 'attrs.tier == "gold"'
campaigns:
  - id: gold-hero
    slot: hero
    when: gold
    priority: 10
    template: '<b>Hello {{.Profile.Attrs.name}}, gold offer</b>'
`), 0o600)

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "serve", "-config", cfg)
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
	})
	proxyURL, adminURL := waitServing(t, stderr)

	client := &http.Client{Timeout: 10 * time.Second}
	r1, body1 := get(t, client, proxyURL+"/", "")
	if body1 != originPage {
		t.Fatalf("first visit: body differs from the origin's:\n%s", body1)
	}
	var vid string
	for _, c := range r1.Cookies() {
		if c.Name == "mq_vid" {
			vid = c.Value
		}
	}
	if vid == "" {
		t.Fatal("no visitor cookie minted")
	}
	id, _, _ := strings.Cut(vid, ".")

	put := func(token string) int {
		req, _ := http.NewRequest("PUT", adminURL+"/v1/profiles/"+id, strings.NewReader(`{"attrs":{"tier":"gold","name":"<script>alert(1)</script>"}}`))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := put(""); code != 401 {
		t.Fatalf("PUT without token: %d, want 401", code)
	}
	if _, body := get(t, client, proxyURL+"/", "mq_vid="+vid); body != originPage {
		t.Fatal("a rejected write changed what the visitor sees")
	}
	if code := put("s3cret"); code != 200 {
		t.Fatalf("PUT: %d", code)
	}

	r2, body2 := get(t, client, proxyURL+"/", "mq_vid="+vid)
	want := strings.Replace(originPage, `<a href="/sale">Free shipping on orders over $50</a>`,
		`<b>Hello &lt;script&gt;alert(1)&lt;/script&gt;, gold offer</b>`, 1)
	if body2 != want {
		t.Fatalf("personalised body:\n%s\nwant:\n%s", body2, want)
	}
	if cc := r2.Header.Get("Cache-Control"); !strings.Contains(cc, "private") || strings.Contains(cc, "public") {
		t.Errorf("Cache-Control %q, want private and not public", cc)
	}
	if !strings.Contains(strings.Join(r2.Header.Values("Vary"), ","), "Cookie") {
		t.Errorf("Vary %q lacks Cookie", r2.Header.Values("Vary"))
	}
	if r2.Header.Get("ETag") != "" || r2.Header.Get("Last-Modified") != "" {
		t.Errorf("personalised page kept validators: ETag %q", r2.Header.Get("ETag"))
	}
	if r2.Header.Get("Set-Cookie") != "" {
		t.Errorf("a valid cookie was replaced: %q", r2.Header.Get("Set-Cookie"))
	}
}

var servingLine = regexp.MustCompile(`proxy=(http://\S+).*admin=(http://\S+)`)

// waitServing reads the server's log until it says where it listens.
func waitServing(t *testing.T, r io.Reader) (proxyURL, adminURL string) {
	t.Helper()
	found := make(chan [2]string, 1)
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			if m := servingLine.FindStringSubmatch(sc.Text()); m != nil {
				found <- [2]string{m[1], m[2]}
				break
			}
			select {
			case lines <- sc.Text():
			default:
			}
		}
		io.Copy(io.Discard, r)
	}()
	select {
	case m := <-found:
		return m[0], m[1]
	case <-time.After(30 * time.Second):
		var out []string
	drain:
		for {
			select {
			case l := <-lines:
				out = append(out, l)
			default:
				break drain
			}
		}
		t.Fatalf("marquee serve did not report its addresses; it said:\n%s", strings.Join(out, "\n"))
	}
	return "", ""
}

func get(t *testing.T, c *http.Client, url, cookie string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	// Plain bytes: the test compares bodies exactly.
	req.Header.Set("Accept-Encoding", "identity")
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}
