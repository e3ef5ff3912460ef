package cluster

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"
	"github.com/marquee-proxy/marquee/profile"
)

// fabric connects test nodes on loopback and can cut links between them,
// by dropping packets and refusing dials at the sender. It counts the
// bytes each node sends.
type fabric struct {
	mu  sync.Mutex
	cut map[[2]string]bool // {from port, to addr} pairs refused
}

func newFabric() *fabric { return &fabric{cut: make(map[[2]string]bool)} }

// partition cuts every link between the nodes of a and those of b.
func (f *fabric) partition(a, b []*testNode) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, x := range a {
		for _, y := range b {
			f.cut[[2]string{x.c.Addr(), y.c.Addr()}] = true
			f.cut[[2]string{y.c.Addr(), x.c.Addr()}] = true
		}
	}
}

// heal restores every link.
func (f *fabric) heal() {
	f.mu.Lock()
	clear(f.cut)
	f.mu.Unlock()
}

func (f *fabric) blocked(from, to string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.cut[[2]string{from, to}]
}

// faultyTransport is a memberlist transport on the fabric.
type faultyTransport struct {
	*memberlist.NetTransport
	f    *fabric
	self atomic.Pointer[string]
	sent atomic.Uint64 // bytes of packets and streams written
}

func (t *faultyTransport) FinalAdvertiseAddr(ip string, port int) (net.IP, int, error) {
	a, p, err := t.NetTransport.FinalAdvertiseAddr(ip, port)
	if err == nil {
		s := net.JoinHostPort(a.String(), fmt.Sprint(p))
		t.self.Store(&s)
	}
	return a, p, err
}

func (t *faultyTransport) from() string {
	if s := t.self.Load(); s != nil {
		return *s
	}
	return ""
}

func (t *faultyTransport) WriteTo(b []byte, addr string) (time.Time, error) {
	if t.f.blocked(t.from(), addr) {
		return time.Now(), nil // lost on the way
	}
	t.sent.Add(uint64(len(b)))
	return t.NetTransport.WriteTo(b, addr)
}

func (t *faultyTransport) DialTimeout(addr string, timeout time.Duration) (net.Conn, error) {
	if t.f.blocked(t.from(), addr) {
		return nil, errors.New("test fabric: link cut")
	}
	c, err := t.NetTransport.DialTimeout(addr, timeout)
	if err != nil {
		return nil, err
	}
	return &countingConn{Conn: c, n: &t.sent}, nil
}

type countingConn struct {
	net.Conn
	n *atomic.Uint64
}

func (c *countingConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	c.n.Add(uint64(n))
	return n, err
}

// onFabric puts a node's transport on f, recording it in *tr.
func onFabric(f *fabric, tr **faultyTransport) func(memberlist.Transport) memberlist.Transport {
	return func(t memberlist.Transport) memberlist.Transport {
		ft := &faultyTransport{NetTransport: t.(*memberlist.NetTransport), f: f}
		*tr = ft
		return ft
	}
}

// fastFailureDetection makes memberlist declare a node dead within a
// couple of seconds, and forget it soon after, so tests also cover
// healing by re-joining the seeds.
func fastFailureDetection(mc *memberlist.Config) {
	mc.ProbeInterval = 200 * time.Millisecond
	mc.ProbeTimeout = 100 * time.Millisecond
	mc.SuspicionMult = 2
	mc.SuspicionMaxTimeoutMult = 2
	mc.GossipToTheDeadTime = 2 * time.Second
}

// sameStores reports whether all nodes hold the same versions.
func sameStores(t testing.TB, nodes []*testNode) bool {
	want := digestOf(t, nodes[0])
	for _, nd := range nodes[1:] {
		if !slices.Equal(digestOf(t, nd), want) {
			return false
		}
	}
	return true
}

func TestPartitionHeals(t *testing.T) {
	f := newFabric()
	trs := make([]*faultyTransport, 5)
	nodes := startNodes(t, 5, func(i int, cfg *Config) {
		cfg.wrapTransport = onFabric(f, &trs[i])
		cfg.tune = fastFailureDetection
	})
	// startNodes joined everyone through node 1; add node 4 as a seed
	// too, as an operator listing several seeds would.
	for _, nd := range nodes {
		nd.c.SetJoin([]string{nodes[0].c.Addr(), nodes[3].c.Addr()})
	}
	left, right := nodes[:2], nodes[2:]
	f.partition(left, right)
	start := time.Now()
	defer func() {
		for _, nd := range nodes {
			t.Logf("%s sees %d members", nd.c.Name(), nd.c.NumMembers())
		}
	}()
	waitFor(t, 45*time.Second, "each side sees only itself", func() bool {
		for _, nd := range left {
			if nd.c.NumMembers() != 2 {
				return false
			}
		}
		for _, nd := range right {
			if nd.c.NumMembers() != 3 {
				return false
			}
		}
		return true
	})
	t.Logf("partition seen after %v", time.Since(start))
	// Different writes on each side, and the same profile on both.
	for i := range 50 {
		left[i%2].store.Update(fmt.Sprintf("L%d", i), func(p *profile.Profile) error { p.Sessions = i; return nil })
		right[i%3].store.Update(fmt.Sprintf("R%d", i), func(p *profile.Profile) error { p.Sessions = i; return nil })
	}
	left[0].store.Update("both", func(p *profile.Profile) error { p.Attrs = map[string]any{"side": "left"}; return nil })
	right[1].store.Update("both", func(p *profile.Profile) error { p.Attrs = map[string]any{"side": "right"}; return nil })
	right[2].store.Erase("L0") // unknown on this side yet: a tombstone only

	f.heal()
	waitFor(t, 30*time.Second, "one fleet with identical stores", func() bool {
		for _, nd := range nodes {
			if nd.c.NumMembers() != 5 {
				return false
			}
		}
		return sameStores(t, nodes)
	})
	var side any
	for i, nd := range nodes {
		p, _ := nd.store.Get("both")
		if p == nil {
			t.Fatalf("node %d lacks the profile written on both sides", i+1)
		}
		if i == 0 {
			side = p.Attrs["side"]
		} else if p.Attrs["side"] != side {
			t.Errorf("node %d: got side %v, want %v", i+1, p.Attrs["side"], side)
		}
		if n, _ := nd.store.Len(); n != 100 {
			t.Errorf("node %d holds %d profiles, want 100 (50+50+both-L0)", i+1, n)
		}
	}
}

func TestKilledNodeCatchesUpAndMoves(t *testing.T) {
	f := newFabric()
	trs := make([]*faultyTransport, 3)
	nodes := startNodes(t, 3, func(i int, cfg *Config) {
		cfg.wrapTransport = onFabric(f, &trs[i])
		cfg.DeadNodeReclaimTime = time.Second
		cfg.tune = fastFailureDetection
	})
	seed := nodes[0].c.Addr()
	victim := nodes[2]
	// Kill: no leave message, like SIGKILL.
	victim.c.shutdown.Do(func() {
		victim.c.closed.Store(true)
		victim.store.SetOnChange(nil)
		victim.c.ml.Shutdown()
		close(victim.c.stop)
		victim.c.wg.Wait()
	})

	// Writes go on meanwhile; the others keep serving.
	stop := time.Now().Add(time.Second)
	n := 0
	for time.Now().Before(stop) && n < 2000 {
		if _, err := nodes[n%2].store.Update(fmt.Sprintf("k%d", n%300), func(p *profile.Profile) error { p.Sessions++; return nil }); err != nil {
			t.Fatal(err)
		}
		n++
	}
	waitFor(t, 15*time.Second, "the killed node seen dead", func() bool {
		return nodes[0].c.NumMembers() == 2 && nodes[1].c.NumMembers() == 2
	})

	// Restart under the same name on a new port, with the store it had.
	cfg := testConfig(victim.c.Name())
	cfg.Join = []string{seed}
	var tr *faultyTransport
	cfg.wrapTransport = onFabric(f, &tr)
	cfg.tune = fastFailureDetection
	c, err := New(cfg, victim.store, nil, "test", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Shutdown(context.Background()) })
	if c.Addr() == victim.c.Addr() {
		t.Fatalf("restarted on the same address %s", c.Addr())
	}
	restarted := &testNode{store: victim.store, c: c}
	all := []*testNode{nodes[0], nodes[1], restarted}
	waitFor(t, 20*time.Second, "restarted node back in and caught up", func() bool {
		for _, nd := range all {
			if nd.c.NumMembers() != 3 {
				return false
			}
		}
		return sameStores(t, all)
	})
	for _, m := range nodes[0].c.Members() {
		if m.Name == c.Name() && m.Addr != c.Addr() {
			t.Errorf("member %s at %s, want its new address %s", m.Name, m.Addr, c.Addr())
		}
	}
}

// WriteToAddress and DialAddressTimeout shadow NetTransport's
// NodeAwareTransport methods, which memberlist prefers.
func (t *faultyTransport) WriteToAddress(b []byte, a memberlist.Address) (time.Time, error) {
	return t.WriteTo(b, a.Addr)
}

func (t *faultyTransport) DialAddressTimeout(a memberlist.Address, timeout time.Duration) (net.Conn, error) {
	return t.DialTimeout(a.Addr, timeout)
}
