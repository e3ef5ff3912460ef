package bench

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// NginxReplacement is what nginx's sub_filter puts in each slot: a fixed
// string about the size of the offer marquee renders for a gold visitor.
const NginxReplacement = `<div class="banner"><h2>Welcome back, Visitor 1</h2><p>Gold members: free express shipping in Lyon</p></div>`

// Nginx is an nginx process in front of the origin simulator with two
// servers: a plain reverse proxy, and the same with sub_filter replacing
// each slot's fallback content.
type Nginx struct {
	// ProxyURL is the plain reverse proxy; SubFilterURL the substituting one.
	ProxyURL, SubFilterURL string

	dir  string
	cmd  *exec.Cmd
	done chan struct{}
}

// NginxConfig returns the nginx.conf of the comparison. It runs one
// master, in the foreground, with worker_processes auto (one per CPU, as an
// operator would run it and as marquee uses every CPU), keep-alive to the
// origin like marquee's, proxy buffers large enough that a page never
// spills to a temporary file, and no access log. The sub_filter server asks
// the origin for an uncompressed body (sub_filter cannot edit a compressed
// one) and replaces each fallback once (sub_filter_once on), the same work
// as marquee's splice of the same slots.
func NginxConfig(dir, originAddr, proxyAddr, subAddr string, fallbacks []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `daemon off;
master_process on;
worker_processes auto;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path %[1]s/client_body;
  proxy_temp_path %[1]s/proxy;
  fastcgi_temp_path %[1]s/fastcgi;
  uwsgi_temp_path %[1]s/uwsgi;
  scgi_temp_path %[1]s/scgi;
  keepalive_requests 1000000;
  proxy_buffer_size 16k;
  proxy_buffers 16 16k;
  proxy_max_temp_file_size 0;
  # "$" cannot be escaped in nginx strings; this variable stands for it.
  geo $dollar { default "$"; }
  upstream origin {
    server %[2]s;
    keepalive 64;
  }
  server {
    listen %[3]s;
    location / {
      proxy_pass http://origin;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
  server {
    listen %[4]s;
    location / {
      proxy_pass http://origin;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Accept-Encoding "";
      sub_filter_once on;
`, dir, originAddr, proxyAddr, subAddr)
	for _, f := range fallbacks {
		fmt.Fprintf(&b, "      sub_filter %s %s;\n", nginxQuote(f), nginxQuote(NginxReplacement))
	}
	b.WriteString("    }\n  }\n}\n")
	return b.String()
}

// nginxQuote returns s as a single-quoted nginx string, with "$" spelled
// through the $dollar variable.
func nginxQuote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `'`, `\'`, `$`, `${dollar}`)
	return "'" + r.Replace(s) + "'"
}

// freeLoopbackAddr returns a loopback address with a port free just now.
func freeLoopbackAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := ln.Addr().String()
	return addr, ln.Close()
}

// StartNginx runs bin with a config written into dir, and waits until both
// servers accept connections.
func StartNginx(ctx context.Context, bin, dir, originAddr string, fallbacks []string) (*Nginx, error) {
	pa, err := freeLoopbackAddr()
	if err != nil {
		return nil, err
	}
	sa, err := freeLoopbackAddr()
	if err != nil {
		return nil, err
	}
	conf := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(conf, []byte(NginxConfig(dir, originAddr, pa, sa, fallbacks)), 0o644); err != nil {
		return nil, err
	}
	n := &Nginx{ProxyURL: "http://" + pa, SubFilterURL: "http://" + sa, dir: dir, done: make(chan struct{})}
	n.cmd = exec.CommandContext(ctx, bin, "-p", dir, "-c", conf, "-e", filepath.Join(dir, "error.log"))
	n.cmd.Cancel = func() error { return n.cmd.Process.Kill() }
	out, err := os.Create(filepath.Join(dir, "stderr.log"))
	if err != nil {
		return nil, err
	}
	defer out.Close()
	n.cmd.Stdout, n.cmd.Stderr = out, out
	if err := n.cmd.Start(); err != nil {
		return nil, fmt.Errorf("bench: start nginx: %w", err)
	}
	go func() { _ = n.cmd.Wait(); close(n.done) }()
	deadline := time.Now().Add(10 * time.Second)
	for _, addr := range []string{pa, sa} {
		for {
			c, err := net.DialTimeout("tcp", addr, time.Second)
			if err == nil {
				c.Close()
				break
			}
			select {
			case <-n.done:
				return nil, fmt.Errorf("bench: nginx exited: %s", n.errorLog())
			default:
			}
			if time.Now().After(deadline) {
				n.Close()
				return nil, fmt.Errorf("bench: nginx did not listen on %s within 10s: %s", addr, n.errorLog())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return n, nil
}

// PID returns the nginx master's process id; its workers are its children.
func (n *Nginx) PID() int { return n.cmd.Process.Pid }

func (n *Nginx) errorLog() string {
	a, _ := os.ReadFile(filepath.Join(n.dir, "stderr.log"))
	b, _ := os.ReadFile(filepath.Join(n.dir, "error.log"))
	return strings.TrimSpace(string(a) + "\n" + string(b))
}

// Close stops nginx (SIGQUIT, then SIGKILL after 5 s) and waits for it. It
// is safe to call more than once.
func (n *Nginx) Close() {
	select {
	case <-n.done:
		return
	default:
	}
	if err := n.cmd.Process.Signal(syscall.SIGQUIT); err != nil && !errors.Is(err, os.ErrProcessDone) {
		_ = n.cmd.Process.Kill()
	}
	select {
	case <-n.done:
	case <-time.After(5 * time.Second):
		_ = n.cmd.Process.Kill()
		<-n.done
	}
}
