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
// servers, a plain reverse proxy and the same with sub_filter replacing
// each slot's fallback content, and optionally two more that are the same
// with proxy_cache.
type Nginx struct {
	// ProxyURL is the plain reverse proxy; SubFilterURL the substituting one.
	ProxyURL, SubFilterURL string
	// CacheURL and CacheSubFilterURL are the same two with proxy_cache,
	// empty when nginx was started without the cache.
	CacheURL, CacheSubFilterURL string

	dir  string
	cmd  *exec.Cmd
	done chan struct{}
}

// NginxAddrs are the listen addresses (host:port) of the comparison's
// servers.
type NginxAddrs struct {
	// Proxy and SubFilter are required.
	Proxy, SubFilter string
	// Cache and CacheSubFilter are both set, or both empty for a
	// configuration without proxy_cache.
	Cache, CacheSubFilter string
}

// NginxConfig returns the nginx.conf of the comparison. It runs one
// master, in the foreground, with worker_processes auto (one per CPU, as an
// operator would run it and as marquee uses every CPU), keep-alive to the
// origin like marquee's, proxy buffers large enough that a page never
// spills to a temporary file, and no access log. The sub_filter servers
// ask the origin for an uncompressed body (sub_filter cannot edit a
// compressed one) and replace each fallback once (sub_filter_once on), the
// same work as marquee's splice of the same slots.
//
// The cache servers add proxy_cache, each with its own zone (the
// sub_filter one stores the page as asked for without compression): the
// origin's Cache-Control decides freshness (proxy_cache_valid applies only
// to a response that does not say), proxy_cache_lock sends one request per
// key to the origin as marquee's collapsed forwarding does, hits are sent
// from the cache file with sendfile as Debian's default nginx.conf has it
// (but for sub_filter, which is cheaper reading the file into memory),
// and X-Cache carries $upstream_cache_status so that the load generator
// can count hits.
func NginxConfig(dir, originAddr string, addrs NginxAddrs, fallbacks []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `daemon off;
master_process on;
worker_processes auto;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
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
`, dir, originAddr)
	cached := addrs.Cache != ""
	if cached {
		for _, zone := range []string{"plain", "sub"} {
			fmt.Fprintf(&b, "  proxy_cache_path %s/cache-%s levels=1:2 keys_zone=%s:10m max_size=256m inactive=1d use_temp_path=off;\n", dir, zone, zone)
		}
	}
	server := func(listen, zone string, sub bool) {
		fmt.Fprintf(&b, `  server {
    listen %s;
    location / {
      proxy_pass http://origin;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
`, listen)
		if zone != "" && sub {
			// From a cache file with sendfile, sub_filter passes the parts
			// between substitutions on as file ranges: a sendfile and a
			// writev per part, which on this page doubled its CPU per
			// request. In memory it edits a buffer or two.
			b.WriteString("      sendfile off;\n")
		}
		if zone != "" {
			fmt.Fprintf(&b, `      proxy_cache %s;
      proxy_cache_valid 200 10m;
      proxy_cache_lock on;
      add_header X-Cache $upstream_cache_status always;
`, zone)
		}
		if sub {
			b.WriteString("      proxy_set_header Accept-Encoding \"\";\n      sub_filter_once on;\n")
			for _, f := range fallbacks {
				fmt.Fprintf(&b, "      sub_filter %s %s;\n", nginxQuote(f), nginxQuote(NginxReplacement))
			}
		}
		b.WriteString("    }\n  }\n")
	}
	server(addrs.Proxy, "", false)
	server(addrs.SubFilter, "", true)
	if cached {
		server(addrs.Cache, "plain", false)
		server(addrs.CacheSubFilter, "sub", true)
	}
	b.WriteString("}\n")
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

// StartNginx runs bin with a config written into dir, with the cache
// servers when cache is set, and waits until every server accepts
// connections.
func StartNginx(ctx context.Context, bin, dir, originAddr string, fallbacks []string, cache bool) (*Nginx, error) {
	listen := []string{"", ""}
	if cache {
		listen = append(listen, "", "")
	}
	for i := range listen {
		a, err := freeLoopbackAddr()
		if err != nil {
			return nil, err
		}
		listen[i] = a
	}
	addrs := NginxAddrs{Proxy: listen[0], SubFilter: listen[1]}
	n := &Nginx{ProxyURL: "http://" + addrs.Proxy, SubFilterURL: "http://" + addrs.SubFilter, dir: dir, done: make(chan struct{})}
	if cache {
		addrs.Cache, addrs.CacheSubFilter = listen[2], listen[3]
		n.CacheURL, n.CacheSubFilterURL = "http://"+addrs.Cache, "http://"+addrs.CacheSubFilter
	}
	text := NginxConfig(dir, originAddr, addrs, fallbacks)
	if os.Geteuid() == 0 {
		// Started as root, nginx runs its workers as nobody, who could not
		// write the cache into dir (private to this user).
		text = "user root;\n" + text
	}
	conf := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		return nil, err
	}
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
	for _, addr := range listen {
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
