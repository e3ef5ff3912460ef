package cluster

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics counts what the cluster does. Counters only grow. It is a
// prometheus.Collector; register it with the node's registry.
type Metrics struct {
	// DeltasSent counts deltas queued for gossip or sent reliably,
	// including ones passed on after receipt.
	DeltasSent atomic.Uint64
	// DeltasReliable counts deltas too large for a packet, sent over
	// reliable streams.
	DeltasReliable atomic.Uint64
	// DeltasReceived counts deltas received.
	DeltasReceived atomic.Uint64
	// DeltasDropped counts deltas pruned from a full queue.
	DeltasDropped atomic.Uint64
	// FanoutDropped counts local changes not sent straight to the
	// members because the fan-out queue was full (gossip and
	// anti-entropy still carry them).
	FanoutDropped atomic.Uint64
	// InboxDropped counts messages dropped because the inbox was full.
	InboxDropped atomic.Uint64
	// Malformed counts messages that did not decode.
	Malformed atomic.Uint64
	// AntiEntropyRounds counts push/pulls merged.
	AntiEntropyRounds atomic.Uint64
	// BucketsDiffering counts digest buckets found different.
	BucketsDiffering atomic.Uint64
	// BucketsRepaired counts buckets answered in full to a pull.
	BucketsRepaired atomic.Uint64
	// ProfilesTransferred counts records received by anti-entropy that
	// were newer than ours.
	ProfilesTransferred atomic.Uint64
	// ProfilesSent counts profiles sent to answer pulls.
	ProfilesSent atomic.Uint64
	// ConfigApplied and ConfigRefused count replicated config versions.
	ConfigApplied atomic.Uint64
	ConfigRefused atomic.Uint64
	// PurgesPublished counts cache purges issued on this node.
	PurgesPublished atomic.Uint64
	// PurgesReceived counts cache purges learnt from other nodes, each
	// once.
	PurgesReceived atomic.Uint64
	// PurgeSendsSkipped counts purge messages not sent because too many
	// were being sent already (the purge log carries their purges).
	PurgeSendsSkipped atomic.Uint64
	// PurgeEntriesDropped counts the cache entries those purges dropped
	// on this node.
	PurgeEntriesDropped atomic.Uint64
	// Joins counts join attempts of the seeds.
	Joins atomic.Uint64
	// BytesSent and BytesReceived count user-message bytes (not
	// memberlist's own probes and gossip headers).
	BytesSent     atomic.Uint64
	BytesReceived atomic.Uint64

	lag prometheus.Histogram // safe for concurrent use

	members func() int
}

func newMetrics() *Metrics {
	return &Metrics{lag: prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "marquee_cluster_replication_lag_seconds",
		Help:    "Age of a profile delta on receipt: from its write on another node to its merge here.",
		Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
	})}
}

func (m *Metrics) observeLag(d time.Duration) { m.lag.Observe(d.Seconds()) }

var (
	descMembers = prometheus.NewDesc("marquee_cluster_members", "Alive members, this node included.", nil, nil)
	descCounter = map[string]*prometheus.Desc{}
)

// counters lists the exported counters by metric name.
func (m *Metrics) counters() []struct {
	name, help string
	v          *atomic.Uint64
} {
	return []struct {
		name, help string
		v          *atomic.Uint64
	}{
		{"marquee_cluster_deltas_sent_total", "Profile deltas queued for gossip or sent reliably.", &m.DeltasSent},
		{"marquee_cluster_deltas_reliable_total", "Profile deltas too large for a packet, sent over streams.", &m.DeltasReliable},
		{"marquee_cluster_deltas_received_total", "Profile deltas received.", &m.DeltasReceived},
		{"marquee_cluster_deltas_dropped_total", "Profile deltas pruned from a full queue.", &m.DeltasDropped},
		{"marquee_cluster_fanout_dropped_total", "Local changes not sent straight to members (fan-out queue full).", &m.FanoutDropped},
		{"marquee_cluster_inbox_dropped_total", "Messages dropped because the inbox was full.", &m.InboxDropped},
		{"marquee_cluster_malformed_total", "Messages from other nodes that did not decode.", &m.Malformed},
		{"marquee_cluster_anti_entropy_rounds_total", "Push/pull digests compared.", &m.AntiEntropyRounds},
		{"marquee_cluster_buckets_differing_total", "Digest buckets found different.", &m.BucketsDiffering},
		{"marquee_cluster_buckets_repaired_total", "Digest buckets answered to a pull.", &m.BucketsRepaired},
		{"marquee_cluster_profiles_transferred_total", "Records received by anti-entropy that were newer.", &m.ProfilesTransferred},
		{"marquee_cluster_profiles_sent_total", "Profiles sent to answer pulls.", &m.ProfilesSent},
		{"marquee_cluster_config_applied_total", "Replicated config versions applied.", &m.ConfigApplied},
		{"marquee_cluster_config_refused_total", "Replicated config versions refused.", &m.ConfigRefused},
		{"marquee_cluster_purges_published_total", "Cache purges issued on this node and sent to the fleet.", &m.PurgesPublished},
		{"marquee_cluster_purges_received_total", "Cache purges learnt from other nodes.", &m.PurgesReceived},
		{"marquee_cluster_purge_sends_skipped_total", "Purge messages not sent because too many were under way (anti-entropy carries them).", &m.PurgeSendsSkipped},
		{"marquee_cluster_purge_entries_dropped_total", "Cache entries dropped by purges learnt from other nodes.", &m.PurgeEntriesDropped},
		{"marquee_cluster_bytes_sent_total", "User-message bytes sent.", &m.BytesSent},
		{"marquee_cluster_bytes_received_total", "User-message bytes received.", &m.BytesReceived},
	}
}

var descOnce sync.Once

func (m *Metrics) descs() {
	descOnce.Do(func() {
		for _, c := range m.counters() {
			descCounter[c.name] = prometheus.NewDesc(c.name, c.help, nil, nil)
		}
	})
}

// Describe implements prometheus.Collector.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	m.descs()
	ch <- descMembers
	for _, c := range m.counters() {
		ch <- descCounter[c.name]
	}
	m.lag.Describe(ch)
}

// Collect implements prometheus.Collector.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	m.descs()
	if m.members != nil {
		ch <- prometheus.MustNewConstMetric(descMembers, prometheus.GaugeValue, float64(m.members()))
	}
	for _, c := range m.counters() {
		ch <- prometheus.MustNewConstMetric(descCounter[c.name], prometheus.CounterValue, float64(c.v.Load()))
	}
	m.lag.Collect(ch)
}

// Interface guards.
var _ prometheus.Collector = (*Metrics)(nil)
