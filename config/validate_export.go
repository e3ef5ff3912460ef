package config

import (
	"net"
	"net/url"
	"strconv"

	"github.com/marquee-proxy/marquee/internal/httpfield"
)

// maxExportBatch bounds export.webhook.batch_size: a POST of more records
// than this is larger than most receivers accept.
const maxExportBatch = 100000

// validateExport checks the export section, when there is one.
func (c *Config) validateExport() Errors {
	x := c.Export
	if x == nil {
		return nil
	}
	var errs Errors
	add := func(path, format string, args ...any) { errs = append(errs, c.Errorf(path, format, args...)) }
	if x.File == nil && x.Kafka == nil && x.Webhook == nil {
		add("export", "name at least one sink: file, kafka or webhook")
	}
	switch x.IDs {
	case "raw":
		if x.IDKey != "" {
			add("export.id_key", "set, but export.ids is raw: say ids: hmac to hash ids")
		}
	case "hmac":
		if x.IDKey == "" {
			add("export.id_key", "required with export.ids hmac: a base64 key of at least %d bytes (`marquee keygen` makes one)", MinKeyBytes)
		} else if b, err := DecodeKey(x.IDKey); err != nil || len(b) < MinKeyBytes {
			add("export.id_key", "want base64 of at least %d bytes", MinKeyBytes)
		}
	default:
		add("export.ids", "unknown %q, want raw or hmac", x.IDs)
	}
	for i, p := range x.Query {
		if httpfield.CheckNamePattern(p, true) != nil {
			add("export.query["+strconv.Itoa(i)+"]", "%q: want a query parameter name, a prefix ending in * such as utm_*, or * for every parameter, at most %d bytes", p, httpfield.MaxNamePattern)
		}
	}
	if x.Queue < 0 {
		add("export.queue", "%d: must not be negative", x.Queue)
	}
	if f := x.File; f != nil {
		if c.DataDir == "" {
			add("export.file", "needs data_dir: files are written to data_dir/exports")
		}
		if f.Retention < 0 || f.Retention%Day != 0 {
			add("export.file.retention", "%s: want whole days, such as 30d, or 0 to keep every file", f.Retention)
		}
		if f.Sync != "always" && f.Sync != "never" {
			add("export.file.sync", "unknown policy %q, want always or never", f.Sync)
		}
	}
	if k := x.Kafka; k != nil {
		if len(k.Brokers) == 0 {
			add("export.kafka.brokers", "required: seed brokers as host:port")
		}
		for i, b := range k.Brokers {
			if _, _, err := net.SplitHostPort(b); err != nil {
				add("export.kafka.brokers["+strconv.Itoa(i)+"]", "%q: want host:port", b)
			}
		}
		if k.Topic == "" {
			add("export.kafka.topic", "required: the topic records are produced to")
		}
	}
	if w := x.Webhook; w != nil {
		if u, err := url.Parse(w.URL); w.URL == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			add("export.webhook.url", "%q: want an http:// or https:// URL", w.URL)
		}
		if !validCookieName(w.AuthHeader) {
			add("export.webhook.auth_header", "%q is not a header name", w.AuthHeader)
		}
		if w.BatchSize < 1 || w.BatchSize > maxExportBatch {
			add("export.webhook.batch_size", "%d: want 1 to %d", w.BatchSize, maxExportBatch)
		}
		for _, d := range []struct {
			path string
			v    Duration
		}{
			{"export.webhook.batch_wait", w.BatchWait}, {"export.webhook.timeout", w.Timeout},
			{"export.webhook.min_backoff", w.MinBackoff}, {"export.webhook.max_backoff", w.MaxBackoff},
		} {
			if d.v <= 0 {
				add(d.path, "%s: must be positive", d.v)
			}
		}
		if w.MaxBackoff > 0 && w.MaxBackoff < w.MinBackoff {
			add("export.webhook.max_backoff", "%s: less than min_backoff %s", w.MaxBackoff, w.MinBackoff)
		}
	}
	return errs
}
