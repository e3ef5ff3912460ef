package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.yaml.in/yaml/v3"

	"github.com/marquee-proxy/marquee/admin"
	"github.com/marquee-proxy/marquee/config"
	"github.com/marquee-proxy/marquee/decide/stats"
	"github.com/marquee-proxy/marquee/opstate"
	"github.com/marquee-proxy/marquee/personalize"
	"github.com/marquee-proxy/marquee/profile"
	msync "github.com/marquee-proxy/marquee/sync"
)

// statsSaveInterval is how often the experiment counters are written to
// data_dir. A kill -9 (or a power cut) loses at most the counts of the
// last interval plus the time one save takes; a graceful stop loses none.
const statsSaveInterval = 10 * time.Second

// statsFile is the name, inside data_dir, of the saved counters.
const statsFile = "stats.json"

// campaignLog is a node's versioned decisions documents: the history (in
// data_dir, or in memory), the personaliser it swaps, the store's clock
// that versions them and, when clustered, the fleet it publishes to. It
// implements admin.Campaigns; the replicator reads and merges through it,
// so every node records every version it serves.
type campaignLog struct {
	hist  *opstate.History
	pers  *personalize.Personalizer
	clock *msync.Clock
	log   *slog.Logger

	mu      sync.Mutex // serialises the record-then-swap of every version
	publish func()     // nil for a single node
}

// entryFor describes doc, compiled into snap, as version v by by. A
// version's time is the wall-clock part of its hybrid-logical-clock
// reading, so every node shows the same time for the same version.
func entryFor(v profile.Version, by string, snap *personalize.Snapshot) opstate.Entry {
	t := v.Time()
	if v == 0 {
		t = time.Now()
	}
	return opstate.Entry{Version: uint64(v), Time: t, By: by, Segments: len(snap.Config.Segments), Campaigns: len(snap.Config.Campaigns)}
}

// Apply implements admin.Campaigns: the version is on disk before it
// serves, and is published to the fleet after.
func (c *campaignLog) Apply(doc []byte, name, by string) (opstate.Entry, *personalize.Snapshot, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	snap, err := c.pers.Snapshot().WithDecisions(name, doc)
	if err != nil {
		return opstate.Entry{}, nil, err
	}
	e, err := c.applyLocked(snap, doc, by)
	return e, snap, err
}

// applyLocked is Apply with c.mu held.
func (c *campaignLog) applyLocked(snap *personalize.Snapshot, doc []byte, by string) (opstate.Entry, error) {
	e, err := c.hist.Put(entryFor(c.clock.Now(), by, snap), doc)
	if err != nil {
		return e, err
	}
	c.pers.Swap(snap)
	if c.publish != nil {
		c.publish()
	}
	c.log.Info("campaigns version applied", "version", e.Version, "by", by, "segments", e.Segments, "campaigns", e.Campaigns, "hash", e.Hash[:12])
	return e, nil
}

// History implements admin.Campaigns.
func (c *campaignLog) History() []opstate.Entry { return c.hist.List() }

// Version implements admin.Campaigns.
func (c *campaignLog) Version(v uint64) (opstate.Entry, []byte, bool, error) { return c.hist.Get(v) }

// current is the version the node serves, for gossip.
func (c *campaignLog) current() (uint64, []byte) {
	e, doc, _ := c.hist.Current()
	return e.Version, doc
}

// merge applies a newer version received from another node, recording it
// under the same version so that every node's history agrees.
func (c *campaignLog) merge(v uint64, data []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cur, _, ok := c.hist.Current(); ok && v <= cur.Version {
		return nil
	}
	snap, err := c.pers.Snapshot().WithDecisions("cluster", data)
	if err != nil {
		return err
	}
	c.clock.Observe(profile.Version(v))
	if _, err := c.hist.Put(entryFor(profile.Version(v), opstate.ByCluster, snap), data); err != nil {
		return err
	}
	c.pers.Swap(snap)
	c.log.Info("campaigns replaced from the cluster", "version", v)
	return nil
}

// reload applies the config file's decisions on SIGHUP: a new version by
// "sighup" when they differ from the version serving; otherwise the
// snapshot is swapped in unrecorded (a catalog file may have changed).
func (c *campaignLog) reload(snap *personalize.Snapshot) error {
	doc, err := decisionsDoc(snap.Config)
	if err != nil {
		return err
	}
	if err := c.hist.SawFile(doc, time.Now()); err != nil {
		c.log.Warn("reload: cannot record the config file as read", "err", err)
	}
	// Compare and apply under one lock, so that a version merged from the
	// cluster in between is not overwritten unseen.
	c.mu.Lock()
	defer c.mu.Unlock()
	cur, _, _ := c.hist.Current()
	if cur.Hash == opstate.Hash(doc) {
		c.pers.Swap(snap)
		c.log.Info("reloaded; the file's decisions are the version serving", "version", cur.Version)
		return nil
	}
	_, err = c.applyLocked(snap, doc, opstate.BySIGHUP)
	return err
}

// decisionsDoc is the decisions document of a config file, in the form GET
// /v1/campaigns shows and PUT takes.
func decisionsDoc(cfg *config.Config) ([]byte, error) {
	return yaml.Marshal(cfg.Decisions())
}

// openCampaigns opens the history in data_dir and decides what the node
// starts serving: the stored version or the config file's (see
// opstate.History.Start), logging which and why. It returns the snapshot
// to serve, compiled from the file's configuration with the chosen
// decisions.
func openCampaigns(cfg *config.Config, fileSnap *personalize.Snapshot, clock *msync.Clock, log *slog.Logger) (*opstate.History, *personalize.Snapshot, error) {
	hist, err := opstate.Open(cfg.DataDir, opstate.Options{Logger: log})
	if err != nil {
		return nil, nil, err
	}
	doc, err := decisionsDoc(fileSnap.Config)
	if err != nil {
		return nil, nil, err
	}
	if cur, _, ok := hist.Current(); ok {
		clock.Observe(profile.Version(cur.Version))
	}
	choice, err := hist.Start(doc, entryFor(clock.Now(), opstate.ByFile, fileSnap))
	if err != nil {
		return nil, nil, err
	}
	if choice.FromFile {
		log.Info("campaigns: serving the config file", "version", choice.Entry.Version, "reason", choice.Reason)
		return hist, fileSnap, nil
	}
	snap, err := compileStored(cfg, choice)
	if err != nil {
		// A stored document this build or this file no longer accepts: the
		// file is the safe choice, recorded so that the fleet follows.
		log.Warn("campaigns: the stored version does not compile; serving the config file", "version", choice.Entry.Version, "err", err)
		if _, err := hist.Put(entryFor(clock.Now(), opstate.ByFile, fileSnap), doc); err != nil {
			return nil, nil, err
		}
		return hist, fileSnap, nil
	}
	log.Info("campaigns: serving the stored version", "version", choice.Entry.Version, "by", choice.Entry.By, "time", choice.Entry.Time.Format(time.RFC3339), "reason", choice.Reason)
	return hist, snap, nil
}

func compileStored(cfg *config.Config, choice opstate.Choice) (*personalize.Snapshot, error) {
	c, err := cfg.WithDecisions(fmt.Sprintf("stored version %d", choice.Entry.Version), choice.Doc)
	if err != nil {
		return nil, err
	}
	return personalize.Compile(c)
}

// restoreStats loads the counters saved in data_dir into rec.
func restoreStats(cfg *config.Config, rec *stats.Recorder, log *slog.Logger) error {
	if cfg.DataDir == "" {
		return nil
	}
	b, err := os.ReadFile(filepath.Join(cfg.DataDir, statsFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	st, err := stats.DecodeNodeState(b)
	if err != nil {
		// Counters are not worth refusing to start over; keep the bad
		// file for inspection and count from zero.
		log.Warn("stats: saved counters unreadable; counting from zero", "file", statsFile, "err", err)
		os.Rename(filepath.Join(cfg.DataDir, statsFile), filepath.Join(cfg.DataDir, statsFile+".bad"))
		return nil
	}
	if err := rec.Restore(st); err != nil {
		return err
	}
	if name := nodeName(cfg); st.Node != name {
		log.Warn("stats: restored counters saved under another node name", "saved", st.Node, "node", name)
	}
	log.Info("stats: restored counters", "saved_at", st.At.Format(time.RFC3339), "started", st.Started.Format(time.RFC3339), "campaigns", len(st.Campaigns))
	return nil
}

// saveStats writes the node's counters to data_dir atomically.
func (n *node) saveStats() error {
	b, err := json.Marshal(n.stats.State(nodeName(n.cfg)))
	if err != nil {
		return err
	}
	return opstate.WriteFile(filepath.Join(n.cfg.DataDir, statsFile), b)
}

// startStatsSaver saves the counters every statsSaveInterval until
// stopStatsSaver, which saves them once more.
func (n *node) startStatsSaver() {
	if n.cfg.DataDir == "" {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	n.stopSaver = func() {
		cancel()
		<-done
		if err := n.saveStats(); err != nil {
			n.log.Warn("stats: saving the counters on shutdown", "err", err)
		}
	}
	go func() {
		defer close(done)
		t := time.NewTicker(statsSaveInterval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if err := n.saveStats(); err != nil {
					n.log.Warn("stats: saving the counters", "err", err)
				}
			}
		}
	}()
}

// openAudit opens the admin API's audit log in data_dir (in memory
// without one) and counts its failed writes in
// marquee_audit_write_errors_total.
func openAudit(cfg *config.Config, reg prometheus.Registerer, log *slog.Logger) (*opstate.Audit, error) {
	l, err := opstate.OpenAudit(cfg.DataDir, opstate.AuditOptions{Logger: log, Lasting: admin.LastingAction})
	if err != nil {
		return nil, err
	}
	reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "marquee_audit_write_errors_total",
		Help: "Admin API write calls whose audit entry did not reach data_dir/audit.log (the call itself was carried out).",
	}, func() float64 { return float64(l.WriteErrors()) }))
	return l, nil
}
