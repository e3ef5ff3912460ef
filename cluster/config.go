package cluster

import (
	"fmt"
	"io"
	"log"
	"os"
	"time"

	"github.com/hashicorp/memberlist"

	msync "github.com/marquee-proxy/marquee/sync"
)

// Preset picks the memberlist timing a Config starts from.
type Preset uint8

// Presets.
const (
	// LAN is memberlist's DefaultLANConfig: one data centre.
	LAN Preset = iota
	// WAN is memberlist's DefaultWANConfig: points of presence across the
	// internet, slower probes and gossip, more tolerance.
	WAN
	// Local is memberlist's DefaultLocalConfig: one host, for tests.
	Local
)

// String returns the preset's name in config.
func (p Preset) String() string {
	switch p {
	case LAN:
		return "lan"
	case WAN:
		return "wan"
	case Local:
		return "local"
	}
	return "invalid"
}

// ParsePreset parses "lan", "wan" or "local"; "" is LAN.
func ParsePreset(s string) (Preset, error) {
	switch s {
	case "", "lan":
		return LAN, nil
	case "wan":
		return WAN, nil
	case "local":
		return Local, nil
	}
	return 0, fmt.Errorf("%w: unknown preset %q", ErrConfig, s)
}

// Config configures a node of the cluster. Build it with DefaultConfig and
// change what differs; each field's doc gives its default there.
type Config struct {
	// Name labels the fleet: it becomes memberlist's Label, so nodes of
	// two fleets on one network never merge. Default "marquee".
	Name string
	// NodeName identifies this node; unique within the fleet. Default:
	// the host name.
	NodeName string
	// BindAddr and BindPort are where gossip (UDP and TCP) listens.
	// Default 0.0.0.0:7946; port 0 picks a free port (see Cluster.Addr).
	BindAddr string
	BindPort int
	// AdvertiseAddr and AdvertisePort are what other nodes dial. Empty /
	// 0: the bind address, or the first private address when bound to
	// all interfaces.
	AdvertiseAddr string
	AdvertisePort int
	// Join lists seed nodes as host:port. DNS names are resolved at every
	// attempt. A node that reaches none keeps serving alone.
	Join []string
	// RejoinInterval is how often the seeds are joined again in the
	// background. memberlist forgets dead nodes after GossipToTheDeadTime
	// and never calls them again, so without this a long partition would
	// never heal; it bounds how long a healed partition stays split.
	// Default 10s (3s with the local preset); 0 keeps the default,
	// negative disables.
	RejoinInterval time.Duration
	// SecretKeys are AES keys (16, 24 or 32 bytes): the first encrypts,
	// all decrypt, so a key is rotated by adding the new one second,
	// moving it first, then removing the old one, one rollout each. Empty:
	// gossip is not encrypted.
	SecretKeys [][]byte
	// Preset picks memberlist's timing. Default LAN.
	Preset Preset
	// DeadNodeReclaimTime is after how long the name of a dead node may be
	// taken by a node at a new address (a restart elsewhere). It is also
	// how long Members lists a node that left or died before forgetting
	// it (30s when negative, which keeps names from being reclaimed).
	// Default 30s.
	DeadNodeReclaimTime time.Duration
	// PushPullInterval is how often a random peer's digest is compared
	// with ours (anti-entropy); each round sends a digest of 8 bytes per
	// bucket each way and, when buckets differ, reads the store's keys to
	// find their records. Default 15s (5s with the local preset).
	PushPullInterval time.Duration
	// GossipInterval overrides the preset's gossip interval when set.
	GossipInterval time.Duration
	// Buckets is the number of key-range buckets in a digest: more
	// buckets send a larger digest (8 bytes each) but repair less per
	// differing bucket. Default msync.DefaultDigestBuckets (1024), the
	// count a store keeps up to date by default: with any other, every
	// digest reads the whole store, unless the store is opened with the
	// same sync.Options.DigestBuckets.
	Buckets int
	// MaxQueue bounds the deltas waiting to be gossiped; past it the
	// oldest are dropped (counted; anti-entropy repairs them), so a node
	// cut off under load keeps flat memory. Default 4096.
	MaxQueue int
	// MaxPacketDelta is the largest encoded delta sent by UDP gossip;
	// larger ones go to every member over a reliable stream. Default 1200
	// bytes, inside memberlist's 1,400-byte packets with its overhead.
	MaxPacketDelta int
	// PageBytes bounds one page of records sent by anti-entropy. Default
	// 512 KiB.
	PageBytes int
	// TombstoneRetention is how long an erasure's tombstone is kept;
	// longer than any plausible partition and than the oldest event
	// timestamp the events API accepts. Default 30 days.
	TombstoneRetention time.Duration
	// StatsInterval is how often this node's counters are sent to the
	// others. Default 10s (2s with the local preset).
	StatsInterval time.Duration
	// InboxSize bounds the messages received and not yet applied; past it
	// they are dropped and counted. Default 4096.
	InboxSize int
	// LogOutput receives memberlist's own log lines. Default: discarded.
	LogOutput io.Writer
	// PurgeRetention is how long a cache purge is kept, from when it was
	// issued, for nodes that missed it (partitioned, restarting) to learn
	// it by anti-entropy; a node that stays away longer misses it. Set it
	// to at least the longest time the caches may keep an entry (its
	// freshness plus the stale-while-revalidate and stale-if-error
	// lifetimes): past that an entry fetched before the purge has gone
	// anyway. Default 24h.
	PurgeRetention time.Duration
	// MaxPurges bounds how many purges the log keeps; past it the oldest
	// are forgotten, and a node that has not learnt them by then misses
	// them. Default 1024.
	MaxPurges int
	// MaxPurgeLogBytes bounds the encoded size of the purges the log
	// keeps, like MaxPurges. Default 16 MiB; at least 1 MiB, the largest
	// purge.
	MaxPurgeLogBytes int

	// wrapTransport, when set, wraps memberlist's network transport: tests
	// use it to cut links and count bytes.
	wrapTransport func(memberlist.Transport) memberlist.Transport
	// tune, when set, changes memberlist's config last: tests use it to
	// detect failures faster.
	tune func(*memberlist.Config)
	// announce, when set, replaces the meta the node announces: tests use
	// it to pose as a node of an earlier release.
	announce func(meta []byte) []byte
}

// DefaultConfig returns a Config with every default filled in for preset.
func DefaultConfig(preset Preset) Config {
	host, _ := os.Hostname()
	if host == "" {
		host = "marquee"
	}
	c := Config{
		Name:                "marquee",
		NodeName:            host,
		BindAddr:            "0.0.0.0",
		BindPort:            7946,
		RejoinInterval:      10 * time.Second,
		PushPullInterval:    15 * time.Second,
		Preset:              preset,
		DeadNodeReclaimTime: defaultDeadNodeReclaimTime,
		Buckets:             msync.DefaultDigestBuckets,
		MaxQueue:            4096,
		MaxPacketDelta:      1200,
		PageBytes:           512 << 10,
		TombstoneRetention:  30 * 24 * time.Hour,
		InboxSize:           4096,
		StatsInterval:       10 * time.Second,
		PurgeRetention:      24 * time.Hour,
		MaxPurges:           1024,
		MaxPurgeLogBytes:    16 << 20,
	}
	if preset == Local {
		// One machine (tests, demos): round trips are cheap, so repair
		// and report sooner.
		c.RejoinInterval = 3 * time.Second
		c.PushPullInterval = 5 * time.Second
		c.StatsInterval = 2 * time.Second
	}
	return c
}

// withDefaults fills zero fields from DefaultConfig.
func (c Config) withDefaults() Config {
	d := DefaultConfig(c.Preset)
	if c.Name == "" {
		c.Name = d.Name
	}
	if c.NodeName == "" {
		c.NodeName = d.NodeName
	}
	if c.BindAddr == "" {
		c.BindAddr = d.BindAddr
	}
	if c.RejoinInterval == 0 {
		c.RejoinInterval = d.RejoinInterval
	}
	if c.PushPullInterval <= 0 {
		c.PushPullInterval = d.PushPullInterval
	}
	if c.DeadNodeReclaimTime == 0 {
		c.DeadNodeReclaimTime = d.DeadNodeReclaimTime
	}
	if c.Buckets <= 0 {
		c.Buckets = d.Buckets
	}
	if c.MaxQueue <= 0 {
		c.MaxQueue = d.MaxQueue
	}
	if c.MaxPacketDelta <= 0 {
		c.MaxPacketDelta = d.MaxPacketDelta
	}
	if c.PageBytes <= 0 {
		c.PageBytes = d.PageBytes
	}
	if c.TombstoneRetention <= 0 {
		c.TombstoneRetention = d.TombstoneRetention
	}
	if c.InboxSize <= 0 {
		c.InboxSize = d.InboxSize
	}
	if c.StatsInterval <= 0 {
		c.StatsInterval = d.StatsInterval
	}
	if c.PurgeRetention <= 0 {
		c.PurgeRetention = d.PurgeRetention
	}
	if c.MaxPurges <= 0 {
		c.MaxPurges = d.MaxPurges
	}
	if c.MaxPurgeLogBytes <= 0 {
		c.MaxPurgeLogBytes = d.MaxPurgeLogBytes
	}
	c.MaxPurgeLogBytes = max(c.MaxPurgeLogBytes, maxPurgeBytes)
	if c.LogOutput == nil {
		c.LogOutput = io.Discard
	}
	return c
}

// departedFor is how long a departed node is listed as dead.
func (c Config) departedFor() time.Duration {
	if c.DeadNodeReclaimTime > 0 {
		return c.DeadNodeReclaimTime
	}
	return defaultDeadNodeReclaimTime
}

const defaultDeadNodeReclaimTime = 30 * time.Second

// memberlistConfig maps c onto memberlist's config for its preset.
func (c Config) memberlistConfig(d *delegate) (*memberlist.Config, error) {
	var mc *memberlist.Config
	switch c.Preset {
	case WAN:
		mc = memberlist.DefaultWANConfig()
	case Local:
		mc = memberlist.DefaultLocalConfig()
	default:
		mc = memberlist.DefaultLANConfig()
	}
	mc.Name = c.NodeName
	mc.Label = c.Name
	mc.BindAddr = c.BindAddr
	mc.BindPort = c.BindPort
	mc.AdvertiseAddr = c.AdvertiseAddr
	mc.AdvertisePort = c.AdvertisePort
	if c.AdvertisePort == 0 {
		mc.AdvertisePort = c.BindPort
	}
	mc.DeadNodeReclaimTime = c.DeadNodeReclaimTime
	mc.PushPullInterval = c.PushPullInterval
	if c.GossipInterval > 0 {
		mc.GossipInterval = c.GossipInterval
	}
	if c.wrapTransport != nil {
		nt, err := memberlist.NewNetTransport(&memberlist.NetTransportConfig{
			BindAddrs: []string{c.BindAddr}, BindPort: c.BindPort, Logger: log.New(c.LogOutput, "", log.LstdFlags),
		})
		if err != nil {
			return nil, fmt.Errorf("cluster: listen: %w", err)
		}
		port := nt.GetAutoBindPort()
		mc.BindPort = port
		if c.AdvertisePort == 0 {
			mc.AdvertisePort = port
		}
		mc.Transport = c.wrapTransport(nt)
	}
	if c.tune != nil {
		c.tune(mc)
	}
	mc.Delegate = d
	mc.Events = d
	mc.LogOutput = c.LogOutput
	if len(c.SecretKeys) > 0 {
		kr, err := memberlist.NewKeyring(c.SecretKeys, c.SecretKeys[0])
		if err != nil {
			return nil, fmt.Errorf("%w: keyring: %w", ErrConfig, err)
		}
		mc.Keyring = kr
		mc.GossipVerifyIncoming = true
		mc.GossipVerifyOutgoing = true
	}
	return mc, nil
}
