//go:build unix

// Package browsertest drives a headless Chromium for tests: it finds the
// browser and returns a page's DOM after the page's scripts have run. Only
// tests use it.
package browsertest

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// Find returns a Chromium-family browser on PATH, or skips the test; with
// MARQUEE_REQUIRE_BROWSER set (CI, once it has installed Chromium) a
// missing browser fails it instead.
func Find(t testing.TB) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "no chromium, chromium-browser or google-chrome on PATH: browser tests need one (CI installs chromium)"
	if os.Getenv("MARQUEE_REQUIRE_BROWSER") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// DumpDOM loads url in a headless browser and returns the DOM once the
// page's timers and fetches have run for ten seconds of virtual time
// (the admin dashboard refreshes twice in that time). The browser runs in
// a fresh profile and is killed, with every process it started, after
// 60 s at most.
func DumpDOM(t testing.TB, browser, url string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	dir := t.TempDir()
	cmd := exec.CommandContext(ctx, browser, "--headless", "--no-sandbox", "--disable-gpu",
		"--disable-background-networking", "--disable-component-update", "--no-first-run",
		"--disable-dev-shm-usage", "--disable-breakpad", "--disable-crash-reporter", "--user-data-dir="+dir, "--virtual-time-budget=10000", "--dump-dom", url)
	// Its own home, so the browser writes nothing outside the test's
	// directory, and its own process group, so a hung browser goes with
	// every helper process it started.
	cmd.Env = append(os.Environ(), "HOME="+dir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if cmd.Process != nil {
		// Helpers outlive the browser at times and would keep writing
		// into dir while it is removed.
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	if ctx.Err() != nil {
		t.Fatalf("%s did not finish within 60 s; stderr:\n%s", browser, stderr.Bytes())
	}
	if err != nil || stdout.Len() == 0 {
		t.Fatalf("%s: %v, %d bytes of DOM; stderr:\n%s", browser, err, stdout.Len(), stderr.Bytes())
	}
	return stdout.String()
}
