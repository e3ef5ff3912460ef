package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/marquee-proxy/marquee/personalize"
	"github.com/marquee-proxy/marquee/profile"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/marquee-proxy/marquee/config"
	"github.com/marquee-proxy/marquee/internal/kafka"
	msync "github.com/marquee-proxy/marquee/sync"
)

// storeOptions maps the config's store and events sections onto the
// profile store's options, starting from sync.DefaultOptions so that every
// field the config does not name keeps the library's default.
func storeOptions(cfg *config.Config) (msync.Options, error) {
	o := msync.DefaultOptions()
	if cfg.Store.Sync != "" {
		policy, err := msync.ParseSyncPolicy(cfg.Store.Sync)
		if err != nil {
			return o, err
		}
		o.Sync = policy
	}
	loc, err := time.LoadLocation(cfg.TimeZone)
	if err != nil {
		return msync.Options{}, fmt.Errorf("time_zone: %w", err)
	}
	o.Dir = cfg.DataDir
	if cfg.Cluster != nil && cfg.Cluster.NodeName != "" {
		o.Node = cfg.Cluster.NodeName
	}
	set(&o.Shrink.Ratio, cfg.Store.ShrinkRatio)
	set(&o.Shrink.MinSize, int64(cfg.Store.ShrinkMinSize))
	ev := &o.Events
	set(&ev.DedupWindow, cfg.Events.DedupWindow.D())
	set(&ev.MaxPast, cfg.Events.MaxPast.D())
	set(&ev.MaxFuture, cfg.Events.MaxFuture.D())
	ev.KeepCase = cfg.Events.KeepCase
	ev.FoldCustomer = cfg.Identity.Customer != nil && cfg.Identity.Customer.FoldCase
	ev.Location = loc
	return o, nil
}

// ingestParts are the personaliser's observers built from the config.
type ingestParts struct {
	tracker  *personalize.Tracker
	customer *personalize.CustomerResolver
	consent  personalize.ConsentPolicy
	// strip lists origin response headers meant for the proxy alone.
	strip []string
	// kafka consumes the events topic, when configured.
	kafka     *kafka.Consumer
	stopKafka context.CancelFunc
	kafkaDone chan struct{}
}

// close stops the Kafka consumer, then applies the tracker's queued
// updates; the store must still be open.
func (in *ingestParts) close(ctx context.Context) error {
	if in.kafka != nil {
		in.stopKafka()
		in.kafka.Close()
		<-in.kafkaDone
	}
	return in.tracker.Close(ctx)
}

// newIngest builds the tracker, customer resolver and consent policy.
func newIngest(cfg *config.Config, store *msync.Store, reg prometheus.Registerer, log *slog.Logger) (*ingestParts, error) {
	in := &ingestParts{consent: personalize.ConsentPolicy{
		OptOutCookie:  cfg.Consent.OptOutCookie,
		IgnoreGPC:     cfg.Consent.IgnoreGPC,
		Strict:        cfg.Consent.Strict,
		ConsentCookie: cfg.Consent.ConsentCookie,
	}}
	t := cfg.Tracking
	pages := make([]personalize.TrackPage, 0, len(t.Pages))
	for _, pg := range t.Pages {
		pages = append(pages, personalize.TrackPage{Path: pg.Path, Event: msync.ParseEventType(pg.Event), Category: pg.Category, CategoryHeader: pg.CategoryHeader})
	}
	evHdr := t.EventHeader
	if evHdr == "off" {
		evHdr = ""
	} else {
		in.strip = append(in.strip, evHdr)
	}
	var err error
	in.tracker, err = personalize.NewTracker(personalize.TrackerOptions{
		Store: store, Pages: pages, EventHeader: evHdr, Workers: t.Workers, Queue: t.Queue, Logger: log, Registry: reg,
	})
	if err != nil {
		return nil, err
	}
	if cu := cfg.Identity.Customer; cu != nil {
		opts := personalize.CustomerOptions{Header: cu.Header, Cookie: cu.Cookie, FoldCase: cu.FoldCase}
		if cu.CookieFormat == "jwt" {
			opts.Format = personalize.CustomerJWT
		}
		for _, k := range cu.Keys {
			b, err := config.DecodeKey(k)
			if err != nil {
				_ = in.tracker.Close(context.Background())
				return nil, fmt.Errorf("identity.customer.keys: %w", err)
			}
			opts.Keys = append(opts.Keys, b)
		}
		if in.customer, err = personalize.NewCustomerResolver(opts); err != nil {
			_ = in.tracker.Close(context.Background())
			return nil, err
		}
		if cu.Header != "" {
			in.strip = append(in.strip, cu.Header)
		}
	}
	if reg != nil {
		unknown := prometheus.NewCounterFunc(prometheus.CounterOpts{
			Namespace: "marquee", Subsystem: "events", Name: "unknown_products_total",
			Help: "Events applied about products the catalog does not have.",
		}, func() float64 { return float64(store.UnknownProducts()) })
		undecodable := prometheus.NewCounterFunc(prometheus.CounterOpts{
			Namespace: "marquee", Subsystem: "store", Name: "undecodable_records_total",
			Help: "Reads that found a stored profile record that cannot be decoded, and treated it as absent.",
		}, func() float64 { return float64(store.Undecodable()) })
		for _, c := range []prometheus.Collector{unknown, undecodable} {
			if err := reg.Register(c); err != nil {
				_ = in.tracker.Close(context.Background())
				return nil, err
			}
		}
	}
	if k := cfg.Kafka; len(k.Brokers) > 0 {
		in.kafka, err = kafka.New(kafka.Options{Brokers: k.Brokers, Topic: k.Topic, Group: k.Group, Store: store, Logger: log, Registry: reg})
		if err != nil {
			_ = in.tracker.Close(context.Background())
			return nil, err
		}
		ctx, cancel := context.WithCancel(context.Background())
		in.stopKafka, in.kafkaDone = cancel, make(chan struct{})
		go func() {
			defer close(in.kafkaDone)
			in.kafka.Run(ctx)
		}()
	}
	return in, nil
}

// segmentsOf evaluates the current configuration's segments for a profile,
// for the admin API's profile view.
func segmentsOf(pers *personalize.Personalizer) func(p *profile.Profile) []string {
	return func(p *profile.Profile) []string {
		d := pers.Snapshot().Engine.Acquire(p, []byte(p.ID), time.Now())
		defer d.Release()
		return d.SegmentNames()
	}
}
