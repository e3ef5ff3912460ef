package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"
)

// servingLine is the log line "marquee serve" writes once it listens.
var servingLine = regexp.MustCompile(`msg="?marquee serving"?.*proxy=(http://\S+).*admin=(http://\S+)`)

// startTimeout bounds how long a child may take to report its addresses.
const startTimeout = 30 * time.Second

// Child is a marquee process under test, started with "serve".
type Child struct {
	// ProxyURL and AdminURL are where the child listens.
	ProxyURL, AdminURL string

	cmd  *exec.Cmd
	done chan struct{}

	mu   sync.Mutex // guards tail
	tail []string   // last lines of its log, for error messages
}

// StartChild writes configYAML into dir and runs bin with "serve -config"
// (plus "-passthrough" when asked), then waits until it logs where it
// listens. The child is killed if ctx ends.
func StartChild(ctx context.Context, bin, dir, name, configYAML string, passthrough bool) (*Child, error) {
	path := filepath.Join(dir, name+".yaml")
	if err := os.WriteFile(path, []byte(configYAML), 0o600); err != nil {
		return nil, err
	}
	args := []string{"serve", "-config", path}
	if passthrough {
		args = []string{"serve", "-passthrough", "-config", path}
	}
	c := &Child{cmd: exec.CommandContext(ctx, bin, args...), done: make(chan struct{})}
	c.cmd.Cancel = func() error { return c.cmd.Process.Kill() }
	stderr, err := c.cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := c.cmd.Start(); err != nil {
		return nil, fmt.Errorf("bench: start %s: %w", name, err)
	}
	found := make(chan [2]string, 1)
	go func() {
		defer close(c.done)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		reported := false
		for sc.Scan() {
			line := sc.Text()
			if !reported {
				if m := servingLine.FindStringSubmatch(line); m != nil {
					found <- [2]string{m[1], m[2]}
					reported = true
				}
			}
			c.mu.Lock()
			c.tail = append(c.tail, line)
			if len(c.tail) > 20 {
				c.tail = c.tail[len(c.tail)-20:]
			}
			c.mu.Unlock()
		}
		_, _ = io.Copy(io.Discard, stderr)
		_ = c.cmd.Wait()
	}()
	timer := time.NewTimer(startTimeout)
	defer timer.Stop()
	select {
	case m := <-found:
		c.ProxyURL, c.AdminURL = m[0], m[1]
		return c, nil
	case <-c.done:
		return nil, fmt.Errorf("bench: %s exited before serving: %s", name, c.Log())
	case <-timer.C:
		c.Close()
		return nil, fmt.Errorf("bench: %s did not report its addresses within %v: %s", name, startTimeout, c.Log())
	}
}

// PID returns the child's process id.
func (c *Child) PID() int { return c.cmd.Process.Pid }

// Log returns the last lines the child logged.
func (c *Child) Log() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return strings.Join(c.tail, "\n")
}

// Close asks the child to stop (SIGINT), kills it after a few seconds, and
// waits for it. It is safe to call more than once.
func (c *Child) Close() {
	select {
	case <-c.done:
		return
	default:
	}
	if err := c.cmd.Process.Signal(syscall.SIGINT); err != nil && !errors.Is(err, os.ErrProcessDone) {
		_ = c.cmd.Process.Kill()
	}
	select {
	case <-c.done:
	case <-time.After(5 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.done
	}
}
