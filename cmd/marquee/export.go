package main

import (
	"path/filepath"
	"time"

	"github.com/marquee-proxy/marquee/config"
	"github.com/marquee-proxy/marquee/export"
)

// exportOptions maps the config's export section onto export.Options, or
// returns nil without one. The caller adds the logger and registry.
func exportOptions(cfg *config.Config) (*export.Options, error) {
	x := cfg.Export
	if x == nil {
		return nil, nil
	}
	o := &export.Options{Node: nodeName(cfg), Queue: x.Queue, Query: x.Query}
	if x.IDs == "hmac" {
		key, err := config.DecodeKey(x.IDKey)
		if err != nil {
			return nil, err
		}
		o.HashKey = key
	}
	if f := x.File; f != nil {
		// Validation has loaded the zone once already.
		loc, err := time.LoadLocation(cfg.TimeZone)
		if err != nil {
			return nil, err
		}
		o.File = &export.FileOptions{
			Dir:       filepath.Join(cfg.DataDir, "exports"),
			Location:  loc,
			Retention: int(f.Retention / config.Day),
			NoSync:    f.Sync == "never",
		}
	}
	if k := x.Kafka; k != nil {
		o.Kafka = &export.KafkaOptions{Brokers: k.Brokers, Topic: k.Topic}
	}
	if w := x.Webhook; w != nil {
		o.Webhook = &export.WebhookOptions{
			URL: w.URL, Auth: w.Auth, AuthHeader: w.AuthHeader,
			BatchSize: w.BatchSize, Wait: w.BatchWait.D(), Timeout: w.Timeout.D(),
			MinBackoff: w.MinBackoff.D(), MaxBackoff: w.MaxBackoff.D(),
		}
	}
	return o, nil
}
