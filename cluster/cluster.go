package cluster

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/memberlist"

	"github.com/marquee-proxy/marquee/internal/background"
	msync "github.com/marquee-proxy/marquee/sync"
)

// Replicator is what the cluster replicates beside profiles: one config
// document ordered by version, and per-node counters. Its methods are
// called from memberlist's and the cluster's goroutines, concurrently with
// each other: they must be safe for that and must not block for long.
// Byte slices passed in belong to the callee only until it returns (copy
// to keep them); slices returned are not modified by the cluster.
type Replicator interface {
	// LocalConfig returns this node's config version (0: none) and its
	// document.
	LocalConfig() (version uint64, data []byte)
	// MergeConfig is given a config version newer than LocalConfig's, read
	// from another node. An error refuses it (it is logged and counted).
	MergeConfig(version uint64, data []byte) error
	// LocalStats returns this node's counters, encoded; nil when none.
	LocalStats() []byte
	// MergeStats is given the latest counters of another node.
	MergeStats(node string, data []byte)
}

// Member is one node as this node sees it.
type Member struct {
	Name string `json:"name"`
	Addr string `json:"addr"`
	// State is alive (suspected members included: memberlist reports
	// no suspicion) or dead (failed or left).
	State string `json:"state"`
	// Meta is what the node announces about itself (its build version).
	Meta string `json:"version,omitempty"`
	// Lag is how far behind this node the member's writes arrive: the
	// age of its latest delta on receipt. Zero for this node, or before
	// any delta arrived.
	Lag time.Duration `json:"lag_ns"`
	// Self marks this node.
	Self bool `json:"self,omitempty"`
}

// Cluster is this node's membership in the fleet. Create it with New and
// stop it with Shutdown; its methods are safe for concurrent use.
type Cluster struct {
	cfg     Config
	store   *msync.Store
	log     *slog.Logger
	rep     Replicator
	meta    []byte
	ml      *memberlist.Memberlist
	queue   *memberlist.TransmitLimitedQueue
	metrics *Metrics
	purges  *purgeLog
	cache   atomic.Pointer[cacheBox] // nil: purges are kept, applied to nothing

	inbox  chan []byte // deltas, records, config, stats, purges
	fanout chan []byte // encoded records of local changes
	pulls  chan []byte // pull requests from peers
	jobs   chan pullJob
	// purgeSends holds a token per purge message being sent.
	purgeSends chan struct{}

	stop     chan struct{}
	wg       sync.WaitGroup
	shutdown sync.Once
	closed   atomic.Bool
	// ready is set once ml is: memberlist calls the delegate from inside
	// Create, before New has stored it.
	ready atomic.Bool

	// mu guards the fields below it. Names come and go for the life of a
	// fleet, so no map keyed by node name may keep every name it saw:
	// lag holds live members only, inFlight the pulls under way, and gone
	// is pruned by housekeepLoop.
	mu sync.Mutex
	// lag is each live member's replication lag; a subset of peers.
	lag      map[string]time.Duration
	inFlight map[string]bool // peers with a pull job queued or running
	// gone holds the departed nodes Members lists as dead, for
	// DeadNodeReclaimTime.
	gone map[string]departed
	// peers holds a copy of every live member's Node, taken in
	// memberlist's event callbacks, which run under its node lock. The
	// Nodes that memberlist's Members returns point into its state,
	// which every alive message rewrites, so sending through them races.
	// peers and gone are disjoint.
	peers    map[string]*memberlist.Node
	digest   []uint64
	digestAt time.Time
	seeds    []string
}

// departed is a node that left or died: where it was, and since when.
type departed struct {
	addr string
	at   time.Time
}

// pullJob reconciles buckets with one peer.
type pullJob struct {
	peer string
	want []bool
}

// New starts memberlist for cfg, hooks into store so that every local
// change is broadcast, and joins cfg.Join in the background: a node that
// reaches no seed serves alone and keeps trying. rep may be nil; meta is
// announced to other nodes (at most 512 bytes less the wire features
// wireMeta adds, e.g. the build version), followed by those features.
// On error nothing is left running.
func New(cfg Config, store *msync.Store, rep Replicator, meta string, log *slog.Logger) (*Cluster, error) {
	if store == nil {
		return nil, fmt.Errorf("%w: no store", ErrConfig)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if n := len(wireMeta("")); len(meta)+n > 512 {
		return nil, fmt.Errorf("%w: meta over %d bytes", ErrConfig, 512-n)
	}
	cfg = cfg.withDefaults()
	if n := store.DigestBuckets(); n != cfg.Buckets {
		log.Warn("cluster: the store keeps no digest of the configured bucket count, so every push/pull reads the whole store; open it with sync.Options.DigestBuckets equal to the cluster's Buckets",
			"buckets", cfg.Buckets, "store_digest_buckets", n)
	}
	c := &Cluster{
		cfg: cfg, store: store, rep: rep, log: log.With("component", "cluster"), meta: wireMeta(meta),
		metrics:    newMetrics(),
		purges:     newPurgeLog(cfg.MaxPurges, cfg.MaxPurgeLogBytes, cfg.PurgeRetention),
		inbox:      make(chan []byte, cfg.InboxSize),
		pulls:      make(chan []byte, 64),
		fanout:     make(chan []byte, 8192),
		jobs:       make(chan pullJob, 64),
		purgeSends: make(chan struct{}, maxPurgeSends),
		stop:       make(chan struct{}),
		lag:        make(map[string]time.Duration),
		inFlight:   make(map[string]bool),
		gone:       make(map[string]departed),
		peers:      make(map[string]*memberlist.Node),
		seeds:      cfg.Join,
	}
	if cfg.announce != nil {
		c.meta = cfg.announce(c.meta)
	}
	d := &delegate{c: c}
	mc, err := cfg.memberlistConfig(d)
	if err != nil {
		return nil, err
	}
	c.queue = &memberlist.TransmitLimitedQueue{NumNodes: c.numMembers, RetransmitMult: mc.RetransmitMult}
	if c.ml, err = memberlist.Create(mc); err != nil {
		return nil, fmt.Errorf("cluster: start memberlist: %w", err)
	}
	c.ready.Store(true)
	c.metrics.members = c.ml.NumMembers
	store.SetOnChange(c.onChange)
	for range 4 {
		c.goLoop("cluster.inbox", c.inboxLoop)
	}
	c.goLoop("cluster.antientropy.answer", c.pullLoop)
	c.goLoop("cluster.fanout", c.fanoutLoop)
	c.goLoop("cluster.antientropy", c.jobLoop)
	c.goLoop("cluster.join", c.joinLoop)
	c.goLoop("cluster.housekeep", c.housekeepLoop)
	return c, nil
}

// goLoop runs f until shutdown, starting it again after a panic (see
// background.Run); name labels its panics.
func (c *Cluster) goLoop(name string, f func()) {
	c.wg.Go(func() { background.Run(c.log, name, c.stop, f) })
}

// Shutdown leaves the fleet (telling the others, for up to ctx's
// deadline or 5s), stops broadcasting store changes and stops every
// goroutine. It is safe to call more than once.
func (c *Cluster) Shutdown(ctx context.Context) error {
	var err error
	c.shutdown.Do(func() {
		c.closed.Store(true)
		c.store.SetOnChange(nil)
		timeout := 5 * time.Second
		if dl, ok := ctx.Deadline(); ok {
			timeout = time.Until(dl)
		}
		if timeout > 0 {
			if lerr := c.ml.Leave(timeout); lerr != nil {
				c.log.Debug("leave", "err", lerr)
			}
		}
		err = c.ml.Shutdown()
		close(c.stop)
		c.wg.Wait()
	})
	return err
}

// Addr returns the address other nodes reach this one at.
func (c *Cluster) Addr() string {
	n := c.ml.LocalNode()
	return net.JoinHostPort(n.Addr.String(), strconv.Itoa(int(n.Port)))
}

// Name returns this node's name.
func (c *Cluster) Name() string { return c.cfg.NodeName }

// Metrics returns the cluster's counters.
func (c *Cluster) Metrics() *Metrics { return c.metrics }

// Join joins the given nodes (host:port) now and returns how many it
// reached. The background loop keeps joining cfg.Join anyway.
func (c *Cluster) Join(addrs []string) (int, error) {
	if c.closed.Load() {
		return 0, ErrShutdown
	}
	return c.ml.Join(addrs)
}

// SetJoin replaces the seeds the background loop joins.
func (c *Cluster) SetJoin(seeds []string) {
	c.mu.Lock()
	c.seeds = slices.Clone(seeds)
	c.mu.Unlock()
}

// Members lists the nodes this node knows of by name: the live ones, and
// those that left or died within DeadNodeReclaimTime. It reads the copies
// the event callbacks keep (see delegate), never memberlist's own state:
// memberlist calls them holding its node lock, so asking it for members
// while holding c.mu could deadlock.
func (c *Cluster) Members() []Member {
	cutoff := time.Now().Add(-c.cfg.departedFor())
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]Member, 0, len(c.peers)+len(c.gone))
	for name, n := range c.peers {
		out = append(out, Member{
			Name: name, Addr: n.Address(), State: "alive", Meta: string(trimWireSuffix(n.Meta)),
			Lag: c.lag[name], Self: name == c.cfg.NodeName,
		})
	}
	for name, g := range c.gone {
		if g.at.After(cutoff) {
			out = append(out, Member{Name: name, Addr: g.addr, State: "dead"})
		}
	}
	slices.SortFunc(out, func(a, b Member) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// NumMembers returns how many nodes are alive, this one included.
func (c *Cluster) NumMembers() int { return c.ml.NumMembers() }

func (c *Cluster) numMembers() int {
	if !c.ready.Load() {
		return 1
	}
	return c.ml.NumMembers()
}

// others returns the live members but this node, as copies.
func (c *Cluster) others() []*memberlist.Node {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]*memberlist.Node, 0, len(c.peers))
	for name, n := range c.peers {
		if name != c.cfg.NodeName {
			out = append(out, n)
		}
	}
	return out
}

// sendTo sends msg to the member called name over a reliable stream.
func (c *Cluster) sendTo(name string, msg []byte) error {
	c.mu.Lock()
	n := c.peers[name]
	c.mu.Unlock()
	if n == nil {
		return fmt.Errorf("cluster: no member %q", name)
	}
	if err := c.ml.SendReliable(n, msg); err != nil {
		return fmt.Errorf("cluster: send to %s: %w", name, err)
	}
	c.metrics.BytesSent.Add(uint64(len(msg)))
	return nil
}

// sendAll sends msg to every other live member over reliable streams.
func (c *Cluster) sendAll(msg []byte) {
	for _, n := range c.others() {
		if err := c.ml.SendReliable(n, msg); err != nil {
			c.log.Debug("send", "to", n.Name, "err", err)
			continue
		}
		c.metrics.BytesSent.Add(uint64(len(msg)))
	}
}

// joinLoop joins the seeds at once and then every RejoinInterval, so a
// node that started alone, or was forgotten by the others during a long
// partition, finds them again.
func (c *Cluster) joinLoop() {
	wait := time.Duration(0)
	for {
		select {
		case <-c.stop:
			return
		case <-time.After(wait):
		}
		c.mu.Lock()
		seeds := c.seeds
		c.mu.Unlock()
		n := 0
		if len(seeds) > 0 {
			var err error
			if n, err = c.ml.Join(seeds); err != nil && n == 0 {
				c.log.Debug("join", "seeds", seeds, "err", err)
			}
		}
		c.metrics.Joins.Add(1)
		wait = c.cfg.RejoinInterval
		if wait < 0 {
			return
		}
		if n == 0 && wait > time.Second {
			// Not in a fleet yet: try again sooner, up to the interval.
			wait = min(wait, 2*time.Second)
		}
	}
}

// PublishConfig sends this node's replicated config to every node at
// once; nodes that miss it catch up by version on anti-entropy. It does
// not block on the network.
func (c *Cluster) PublishConfig() {
	if c.rep == nil || c.closed.Load() {
		return
	}
	v, data := c.rep.LocalConfig()
	if v == 0 {
		return
	}
	msg := encodeConfig(v, data)
	if len(msg) <= c.cfg.MaxPacketDelta {
		c.queue.QueueBroadcast(&broadcast{name: "config", msg: msg})
		return
	}
	c.goSend(func() { c.sendAll(msg) })
}

// PublishStats sends this node's counters to every node. It does not
// block on the network.
func (c *Cluster) PublishStats() {
	if c.rep == nil || c.closed.Load() {
		return
	}
	data := c.rep.LocalStats()
	if data == nil {
		return
	}
	msg := encodeStats(c.cfg.NodeName, data)
	if len(msg) <= c.cfg.MaxPacketDelta {
		c.queue.QueueBroadcast(&broadcast{name: "stats", msg: msg})
		return
	}
	c.goSend(func() { c.sendAll(msg) })
}

// goSend runs a send in the background unless shut down; a panic in it
// costs that send only.
func (c *Cluster) goSend(f func()) {
	select {
	case <-c.stop:
		return
	default:
	}
	c.wg.Go(func() { background.Guard(c.log, "cluster.send", f) })
}
