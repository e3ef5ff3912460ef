package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The fault test runs five marquee processes, each in a network namespace
// of its own joined by a bridge, cuts and heals links with blackhole
// routes, kills a node with SIGKILL and moves it to a new address. It
// needs root and iproute2 (`ip`); CI runs it as root.

// netlab is the namespaces of one test.
type netlab struct {
	t      *testing.T
	prefix string
}

func ipCmd(args ...string) error {
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %w: %s", strings.Join(args, " "), err, out)
	}
	return nil
}

// newNetlab creates a bridge namespace and n node namespaces at
// 10.199.0.1..n, or skips the test when that is not permitted.
func newNetlab(t *testing.T, n int) *netlab {
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("fault test skipped: iproute2 (`ip`) is not installed")
	}
	if os.Geteuid() != 0 {
		t.Skip("fault test skipped: creating network namespaces needs root")
	}
	l := &netlab{t: t, prefix: fmt.Sprintf("mq%d", os.Getpid()%100000)}
	if err := ipCmd("netns", "add", l.ns(0)); err != nil {
		t.Skipf("fault test skipped: cannot create a network namespace: %v", err)
	}
	t.Cleanup(l.close)
	must := func(args ...string) {
		if err := ipCmd(args...); err != nil {
			t.Fatal(err)
		}
	}
	must("-n", l.ns(0), "link", "add", "br0", "type", "bridge")
	must("-n", l.ns(0), "link", "set", "br0", "up")
	must("-n", l.ns(0), "addr", "add", "10.199.0.100/24", "dev", "br0")
	for i := 1; i <= n; i++ {
		must("netns", "add", l.ns(i))
		must("-n", l.ns(i), "link", "add", "eth0", "type", "veth", "peer", "name", fmt.Sprintf("p%d", i), "netns", l.ns(0))
		must("-n", l.ns(i), "addr", "add", fmt.Sprintf("10.199.0.%d/24", i), "dev", "eth0")
		must("-n", l.ns(i), "link", "set", "eth0", "up")
		must("-n", l.ns(i), "link", "set", "lo", "up")
		must("-n", l.ns(0), "link", "set", fmt.Sprintf("p%d", i), "master", "br0", "up")
	}
	return l
}

func (l *netlab) ns(i int) string { return fmt.Sprintf("%s-%d", l.prefix, i) }

func (l *netlab) close() {
	for i := 0; i <= 9; i++ {
		exec.Command("ip", "netns", "del", l.ns(i)).Run()
	}
}

// cut makes node i drop everything to the address ip.
func (l *netlab) cut(i int, ip string) error {
	return ipCmd("-n", l.ns(i), "route", "add", "blackhole", ip+"/32")
}

func (l *netlab) uncut(i int, ip string) error {
	return ipCmd("-n", l.ns(i), "route", "del", "blackhole", ip+"/32")
}

// inNetns runs f on a thread moved into namespace ns; the thread is never
// given back to the scheduler, so it dies with the namespace change.
func inNetns[T any](ns string, f func() (T, error)) (T, error) {
	type result struct {
		v   T
		err error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: see above
		var zero T
		fd, err := os.Open("/var/run/netns/" + ns)
		if err != nil {
			ch <- result{zero, err}
			return
		}
		defer fd.Close()
		if err := unix.Setns(int(fd.Fd()), unix.CLONE_NEWNET); err != nil {
			ch <- result{zero, err}
			return
		}
		v, err := f()
		ch <- result{v, err}
	}()
	r := <-ch
	return r.v, r.err
}

// client returns an HTTP client whose connections are made in ns.
func (l *netlab) client(i int) *http.Client {
	ns := l.ns(i)
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		DisableKeepAlives: true,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return inNetns(ns, func() (net.Conn, error) {
				var d net.Dialer
				return d.DialContext(ctx, network, addr)
			})
		},
	}}
}

// labNode is one marquee process.
type labNode struct {
	i    int
	ip   string
	dir  string
	cmd  *exec.Cmd
	http *http.Client
	// join overrides the seeds (default 10.199.0.1 and .4); extra is
	// appended to the configuration.
	join  string
	extra string
}

func (n *labNode) admin() string { return "http://" + n.ip + ":9000" }
func (n *labNode) proxy() string { return "http://" + n.ip + ":8000" }

func (n *labNode) do(method, path, body string) (int, string, error) {
	req, _ := http.NewRequest(method, n.admin()+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer s3cret")
	resp, err := n.http.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), nil
}

// version returns a profile's version on n, "" when it has none.
func (n *labNode) version(id string) string {
	code, body, err := n.do("GET", "/v1/profiles/"+id, "")
	if err != nil || code != 200 {
		return ""
	}
	var v struct{ Version string }
	json.Unmarshal([]byte(body), &v)
	return v.Version
}

// alive counts the members n sees alive.
func (n *labNode) alive() (int, map[string]string) {
	code, body, err := n.do("GET", "/v1/cluster", "")
	if err != nil || code != 200 {
		return 0, nil
	}
	var cl struct {
		Members []struct{ Name, Addr, State string }
	}
	json.Unmarshal([]byte(body), &cl)
	k := 0
	addrs := make(map[string]string)
	for _, m := range cl.Members {
		if m.State == "alive" {
			k++
			addrs[m.Name] = m.Addr
		}
	}
	return k, addrs
}

func (l *netlab) start(t *testing.T, bin string, n *labNode, origin string) {
	cfg := filepath.Join(n.dir, "marquee.yaml")
	join := n.join
	if join == "" {
		join = `"10.199.0.1:7946", "10.199.0.4:7946"`
	}
	os.WriteFile(cfg, fmt.Appendf(nil, `listen: %[1]s:8000
origin: %[2]s
admin:
  listen: %[1]s:9000
  token: s3cret
data_dir: %[3]s
identity:
  keys: ["c2lnbmluZy1rZXktZm9yLXRlc3RzLW9ubHktMzJieXQ="]
cluster:
  name: shop
  node_name: edge%[4]d
  bind: %[1]s:7946
  join: [%[5]s]
  secret_keys: ["AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="]
segments:
  gold: 'attrs.tier == "gold"'
campaigns:
  - id: gold-hero
    slot: hero
    when: gold
    priority: 10
    template: '<b>gold offer</b>'
%[6]s`, n.ip, origin, filepath.Join(n.dir, "data"), n.i, join, n.extra), 0o600)
	n.cmd = exec.Command("ip", "netns", "exec", l.ns(n.i), bin, "serve", "-config", cfg)
	logf, _ := os.Create(filepath.Join(n.dir, "log"))
	n.cmd.Stdout, n.cmd.Stderr = logf, logf
	if err := n.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	n.http = l.client(n.i)
	cmd := n.cmd
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	poll(t, 20*time.Second, fmt.Sprintf("node %d serving", n.i), func() bool {
		code, _, err := n.do("GET", "/healthz", "")
		return err == nil && code == 200
	})
}

func TestFaultsInNetworkNamespaces(t *testing.T) {
	bin := buildMarquee(t)
	l := newNetlab(t, 5)

	// The origin lives in the bridge's namespace, at 10.199.0.100.
	ln, err := inNetns(l.ns(0), func() (net.Listener, error) { return net.Listen("tcp", "10.199.0.100:0") })
	if err != nil {
		t.Fatal(err)
	}
	originURL := serveOrigin(t, ln, pageOrigin())

	nodes := make([]*labNode, 5)
	for i := range nodes {
		nodes[i] = &labNode{i: i + 1, ip: fmt.Sprintf("10.199.0.%d", i+1), dir: t.TempDir()}
		l.start(t, bin, nodes[i], originURL)
	}
	poll(t, 30*time.Second, "five members alive", func() bool {
		for _, n := range nodes {
			if k, _ := n.alive(); k != 5 {
				return false
			}
		}
		return true
	})

	// Partition {1,2} | {3,4,5}.
	left, right := nodes[:2], nodes[2:]
	setCut := func(on bool) {
		for _, a := range left {
			for _, b := range right {
				f := l.cut
				if !on {
					f = l.uncut
				}
				if err := f(a.i, b.ip); err != nil {
					t.Fatal(err)
				}
				if err := f(b.i, a.ip); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	setCut(true)
	poll(t, 60*time.Second, "each side sees only itself", func() bool {
		k1, _ := left[0].alive()
		k3, _ := right[0].alive()
		return k1 == 2 && k3 == 3
	})
	var ids []string
	put := func(n *labNode, id, tier string) {
		code, body, err := n.do("PUT", "/v1/profiles/"+id, `{"attrs":{"tier":"`+tier+`"}}`)
		if err != nil || code != 200 {
			t.Fatalf("PUT %s on node %d: %d %s %v", id, n.i, code, body, err)
		}
	}
	for k := range 20 {
		put(left[k%2], fmt.Sprintf("left%d", k), "gold")
		put(right[k%3], fmt.Sprintf("right%d", k), "silver")
		ids = append(ids, fmt.Sprintf("left%d", k), fmt.Sprintf("right%d", k))
	}
	put(left[1], "both", "gold")
	put(right[2], "both", "silver")
	ids = append(ids, "both")
	setCut(false)
	identical := func(ns []*labNode) bool {
		for _, id := range ids {
			v := ns[0].version(id)
			if v == "" {
				return false
			}
			for _, n := range ns[1:] {
				if n.version(id) != v {
					return false
				}
			}
		}
		return true
	}
	poll(t, 60*time.Second, "one fleet with identical stores after healing", func() bool {
		for _, n := range nodes {
			if k, _ := n.alive(); k != 5 {
				return false
			}
		}
		return identical(nodes)
	})

	// SIGKILL node 3 under load: the others serve with no errors.
	var reqs, failures atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for _, n := range []*labNode{nodes[0], nodes[1], nodes[3], nodes[4]} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := 0; k < 100000; k++ {
				select {
				case <-stop:
					return
				default:
				}
				resp, err := n.http.Get(n.proxy() + "/")
				reqs.Add(1)
				if err != nil || resp.StatusCode != 200 {
					failures.Add(1)
				}
				if resp != nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				if k%10 == 0 {
					id := fmt.Sprintf("load%d-%d", n.i, k)
					if code, _, err := n.do("PUT", "/v1/profiles/"+id, `{"attrs":{"tier":"gold"}}`); err != nil || code != 200 {
						failures.Add(1)
					}
				}
			}
		}()
	}
	victim := nodes[2]
	victim.cmd.Process.Kill()
	victim.cmd.Wait()
	poll(t, 60*time.Second, "node 3 seen dead", func() bool {
		k, _ := nodes[0].alive()
		return k == 4
	})
	// Restart it under the same name at a new address.
	if err := ipCmd("-n", l.ns(3), "addr", "add", "10.199.0.33/24", "dev", "eth0"); err != nil {
		t.Fatal(err)
	}
	victim.ip = "10.199.0.33"
	l.start(t, bin, victim, originURL)
	poll(t, 60*time.Second, "node 3 back at its new address", func() bool {
		k, addrs := nodes[0].alive()
		return k == 5 && strings.HasPrefix(addrs["edge3"], "10.199.0.33:")
	})
	close(stop)
	wg.Wait()
	if f := failures.Load(); f != 0 {
		t.Errorf("%d of %d requests failed on the surviving nodes", f, reqs.Load())
	}
	t.Logf("%d requests to surviving nodes while node 3 was killed and restarted, %d failed", reqs.Load(), failures.Load())
	// It catches up with what was written while it was down.
	for k := 0; k < 20; k++ {
		ids = append(ids, fmt.Sprintf("load1-%d", k*10))
	}
	poll(t, 60*time.Second, "restarted node caught up", func() bool { return identical(nodes) })
}
