//go:build unix

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
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/marquee-proxy/marquee/internal/browsertest"
)

// demoRun is what "marquee demo" printed: where it serves, and the named
// visitors' cookies.
type demoRun struct {
	proxy, shop, admin string
	cookies            map[string]string // visitor name → mq_vid cookie value
	// tmp is the process's TMPDIR, a directory of the test's own.
	tmp string
	// cmd is the running demo.
	cmd *exec.Cmd
}

var (
	demoProxyLine  = regexp.MustCompile(`shop through marquee\s+(http://\S+?)/?\s`)
	demoShopLine   = regexp.MustCompile(`shop without marquee\s+(http://\S+?)/?\s`)
	demoAdminLine  = regexp.MustCompile(`admin API\s+(http://[^/\s]+)`)
	demoNameLine   = regexp.MustCompile(`^\s*# (\w+)\s*$`)
	demoCookieLine = regexp.MustCompile(`-b 'mq_vid=([^']+)'`)
)

// startDemo runs "marquee demo" of the binary bin on free loopback ports,
// as the README's first command does on fixed ones, and reads what it
// prints. The test's end stops it as Ctrl-C would, with SIGTERM (killed
// only if it does not exit within 30 s).
func startDemo(t *testing.T, bin string) demoRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	cmd := exec.CommandContext(ctx, bin, "demo", "-listen", "127.0.0.1:0", "-shop", "127.0.0.1:0", "-admin", "127.0.0.1:0", "-profiles", "50")
	tmp := t.TempDir()
	cmd.Env = append(os.Environ(), "TMPDIR="+tmp)
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 30 * time.Second
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
	})
	run := demoRun{cookies: map[string]string{}, tmp: tmp, cmd: cmd}
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		_, _ = io.Copy(io.Discard, out)
	}()
	name := ""
	deadline := time.After(time.Minute)
	for len(run.cookies) < 5 {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatalf("demo exited before printing its visitors; got %+v", run)
			}
			if m := demoProxyLine.FindStringSubmatch(line + " "); m != nil {
				run.proxy = m[1]
			} else if m := demoShopLine.FindStringSubmatch(line + " "); m != nil {
				run.shop = m[1]
			} else if m := demoAdminLine.FindStringSubmatch(line); m != nil {
				run.admin = m[1]
			} else if m := demoNameLine.FindStringSubmatch(line); m != nil {
				name = m[1]
			} else if m := demoCookieLine.FindStringSubmatch(line); m != nil && name != "" {
				run.cookies[name] = m[1]
			}
		case <-deadline:
			t.Fatalf("demo printed no visitors within a minute; got %+v", run)
		}
	}
	// The rest of its output is not needed, but must not block it.
	go func() {
		for range lines {
		}
	}()
	if run.proxy == "" || run.shop == "" || run.admin == "" {
		t.Fatalf("demo addresses not found in its output: %+v", run)
	}
	return run
}

// heroOf returns the hero slot's element from a page.
func heroOf(page string) string {
	i := strings.Index(page, `data-marquee-slot="hero"`)
	if i < 0 {
		return ""
	}
	end := strings.Index(page[i:], "</section>")
	if end < 0 {
		return page[i:]
	}
	return page[i : i+end]
}

// recCard is one card of a recs slot, in the demo shop's own markup.
var recCard = regexp.MustCompile(`<li><a href="(/p/[^"]+)"><img src="(/img/[^"]+\.svg)" alt="" width="240" height="180"><span>[^<]+</span><span class="price">\$[0-9,]+\.[0-9]{2}</span></a></li>`)

// recsOf returns the product and image paths of the cards in a page's
// recs slot.
func recsOf(page string) (products, images []string) {
	i := strings.Index(page, `data-marquee-slot="recs"`)
	if i < 0 {
		return nil, nil
	}
	end := strings.Index(page[i:], "</section>")
	if end < 0 {
		end = len(page) - i
	}
	for _, m := range recCard.FindAllStringSubmatch(page[i:i+end], -1) {
		products, images = append(products, m[1]), append(images, m[2])
	}
	return products, images
}

// visit gets url as a browser holding the named demo visitor's cookie
// (none for ""), and fails the test unless the page is served.
func (d demoRun) visit(t *testing.T, name, url string) (*http.Response, string) {
	t.Helper()
	b := newBrowser(t)
	if name != "" {
		b.cookies["mq_vid"] = d.cookies[name]
	}
	resp, body := b.get(url)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s as %q: %d", url, name, resp.StatusCode)
	}
	return resp, body
}

// TestDemoBlackBox runs "marquee demo" as a first-time user would and
// checks what the README promises: the named visitors get their own pages,
// a profile edited through the admin API changes the next page, and the
// shop and the dashboard work in a real browser.
func TestDemoBlackBox(t *testing.T) {
	demo := startDemo(t, buildMarquee(t))

	_, origin := demo.visit(t, "", demo.shop+"/")
	_, ada := demo.visit(t, "Ada", demo.proxy+"/")
	if !strings.Contains(heroOf(ada), "Welcome back, Ada") {
		t.Errorf("Ada's hero: %q", heroOf(ada))
	}
	if heroOf(origin) == "" || heroOf(origin) == heroOf(ada) {
		t.Errorf("the shop's own hero %q should differ from Ada's", heroOf(origin))
	}
	resp, _ := demo.visit(t, "", demo.proxy+"/")
	if !strings.HasPrefix(resp.Header.Get("Set-Cookie"), "mq_vid=") {
		t.Errorf("a new visitor got no visitor cookie: %q", resp.Header.Get("Set-Cookie"))
	}

	// Recommendations look like the shop's own cards, four of them, with
	// images the shop serves, and never offer the product on the page.
	const product = "/p/pulse-watch"
	_, shopPage := demo.visit(t, "", demo.shop+product)
	if own, _ := recsOf(shopPage); len(own) != 4 {
		t.Fatalf("the shop's own recs on %s: %d cards in its markup, want 4", product, len(own))
	}
	for _, name := range []string{"", "Ada", "Bob"} {
		_, page := demo.visit(t, name, demo.proxy+product)
		products, images := recsOf(page)
		if len(products) != 4 {
			t.Errorf("%q on %s: %d recommendation cards %q, want 4", name, product, len(products), products)
		}
		if slices.Contains(products, product) {
			t.Errorf("%q on %s: recommended the page's own product: %q", name, product, products)
		}
		for _, img := range images {
			if resp, body := demo.visit(t, name, demo.proxy+img); resp.Header.Get("Content-Type") != "image/svg+xml" || !strings.HasPrefix(body, "<svg") {
				t.Errorf("%q: %s is not an image: %s", name, img, resp.Header.Get("Content-Type"))
			}
		}
	}
	if _, page := demo.visit(t, "Ada", demo.proxy+product); !strings.Contains(page, "Picked for you, Ada") {
		t.Error("Ada's recs are not the electronics picks")
	} else if products, _ := recsOf(page); len(products) > 0 && products[0] != "/p/aero-earbuds" {
		t.Errorf("Ada's picks on %s: %q, want the most popular other electronics first", product, products)
	}

	// Ada is no longer a gold member: her next page says so.
	id, _, _ := strings.Cut(demo.cookies["Ada"], ".")
	if code, body := adminDo(t, http.MethodPatch, demo.admin+"/v1/profiles/"+id, `{"attrs":{"tier":"basic"}}`); code != http.StatusOK {
		t.Fatalf("PATCH Ada's profile: %d %s", code, body)
	}
	if _, after := demo.visit(t, "Ada", demo.proxy+"/"); strings.Contains(heroOf(after), "Welcome back, Ada") {
		t.Errorf("Ada's hero after her tier changed: %q", heroOf(after))
	}

	browser := browsertest.Find(t)
	shop := browsertest.DumpDOM(t, browser, demo.proxy+"/")
	for _, want := range []string{"Northwind", `data-marquee-slot="hero"`, `data-marquee-slot="offer"`, `href="/c/`} {
		if !strings.Contains(shop, want) {
			t.Errorf("the shop through marquee, in a browser, lacks %q", want)
		}
	}
	dash := browsertest.DumpDOM(t, browser, demo.admin+"/")
	for _, want := range []string{"gold-hero", "welcome-test", `data-outcome="rewritten"`} {
		if !strings.Contains(dash, want) {
			t.Errorf("the dashboard, in a browser, lacks %q", want)
		}
	}
}

// TestDemoRemovesTempDir stops "marquee demo" as a terminal and a service
// manager would, and checks that the directory it keeps its catalog in is
// gone once it has exited.
func TestDemoRemovesTempDir(t *testing.T) {
	bin := buildMarquee(t)
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			demo := startDemo(t, bin)
			pattern := filepath.Join(demo.tmp, "marquee-demo-*")
			if dirs, _ := filepath.Glob(pattern); len(dirs) != 1 {
				t.Fatalf("while the demo runs: %q, want one directory", dirs)
			}
			if err := demo.cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			if err := demo.cmd.Wait(); err != nil {
				t.Fatalf("the demo after %v: %v", sig, err)
			}
			if dirs, _ := filepath.Glob(pattern); len(dirs) != 0 {
				t.Errorf("after the demo stopped: %q left behind", dirs)
			}
		})
	}
}

// TestDemoStopsWhileLoading stops "marquee demo" while it still loads its
// profiles: it stops loading, exits cleanly without printing its visitors,
// and leaves no directory behind.
func TestDemoStopsWhileLoading(t *testing.T) {
	bin := buildMarquee(t)
	tmp := t.TempDir()
	cmd := exec.Command(bin, "demo", "-listen", "127.0.0.1:0", "-shop", "127.0.0.1:0", "-admin", "127.0.0.1:0", "-profiles", "100000")
	cmd.Env = append(os.Environ(), "TMPDIR="+tmp)
	var stdout strings.Builder
	cmd.Stdout = &stdout
	cmd.WaitDelay = 30 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pattern := filepath.Join(tmp, "marquee-demo-*")
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(5 * time.Millisecond) {
		if dirs, _ := filepath.Glob(pattern); len(dirs) > 0 {
			break
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatal("the demo made no temporary directory within a minute")
		}
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("the demo after SIGTERM: %v", err)
	}
	if strings.Contains(stdout.String(), "# Ada") {
		t.Errorf("the demo printed its visitors after it was stopped:\n%s", stdout.String())
	}
	if dirs, _ := filepath.Glob(pattern); len(dirs) != 0 {
		t.Errorf("after the demo stopped: %q left behind", dirs)
	}
}
