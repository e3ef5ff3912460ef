package config

// Export streams exposure and conversion records to a warehouse: daily
// NDJSON files, a Kafka topic, an HTTP webhook, any combination. Every
// sink has its own bounded queue, so a slow one never slows the others
// or a request.
type Export struct {
	// IDs is how visitor and customer ids appear in records: "raw" (the
	// default) or "hmac", the hex HMAC-SHA256 of the id under IDKey.
	IDs string `yaml:"ids"`
	// IDKey is the base64 key (at least 16 bytes) that hashes ids with
	// IDs "hmac". Keep it: a new key makes every id new to the warehouse.
	IDKey string `yaml:"id_key"`
	// Query names the query parameters kept in exported urls: exact
	// names and prefixes ending in "*" ("utm_*"); ["*"] keeps every one.
	// Others are dropped: query strings carry tokens and personal data.
	// Default ["utm_*", "gclid", "fbclid"]; [] keeps none.
	Query []string `yaml:"query"`
	// Queue bounds the records waiting per sink; past it records are
	// dropped and counted. Zero: the export package's default (65536).
	Queue int `yaml:"queue"`
	// File writes data_dir/exports/exposures-YYYY-MM-DD.ndjson. Nil: no
	// files.
	File *ExportFile `yaml:"file"`
	// Kafka produces one record per message. Nil: no Kafka.
	Kafka *ExportKafka `yaml:"kafka"`
	// Webhook POSTs batches of NDJSON. Nil: no webhook.
	Webhook *ExportWebhook `yaml:"webhook"`
}

// ExportFile configures the daily files.
type ExportFile struct {
	// Retention is how long files are kept, in whole days, today's
	// included. Default 30d; 0 keeps every file.
	Retention Duration `yaml:"retention"`
	// Sync is "always" (the default: a batch counts as delivered once
	// fsynced) or "never" (once the OS has it).
	Sync string `yaml:"sync"`
}

// ExportKafka configures the Kafka sink.
type ExportKafka struct {
	// Brokers are seed brokers, host:port. Required.
	Brokers []string `yaml:"brokers"`
	// Topic receives the records, keyed by visitor. Required.
	Topic string `yaml:"topic"`
}

// ExportWebhook configures the webhook sink.
type ExportWebhook struct {
	// URL receives POSTs of NDJSON batches. Required: http or https.
	URL string `yaml:"url"`
	// Auth is sent in AuthHeader with every POST, e.g. "Bearer s3cret".
	Auth string `yaml:"auth"`
	// AuthHeader names the header carrying Auth. Default "Authorization".
	AuthHeader string `yaml:"auth_header"`
	// BatchSize is the most records per POST. Default 500.
	BatchSize int `yaml:"batch_size"`
	// BatchWait is how long records are gathered before a POST that is
	// not full. Default 1s.
	BatchWait Duration `yaml:"batch_wait"`
	// Timeout bounds one POST. Default 10s.
	Timeout Duration `yaml:"timeout"`
	// MinBackoff and MaxBackoff bound the delay between retries, doubled
	// per failure with jitter. Default 500ms and 1m.
	MinBackoff Duration `yaml:"min_backoff"`
	MaxBackoff Duration `yaml:"max_backoff"`
}

func (c *Config) applyExportDefaults() {
	x := c.Export
	if x == nil {
		return
	}
	setString(&x.IDs, "raw")
	// An empty list keeps no parameter; only an absent one defaults.
	if _, written := c.pos["export.query"]; !written && x.Query == nil {
		x.Query = []string{"utm_*", "gclid", "fbclid"}
	}
	if f := x.File; f != nil {
		setString(&f.Sync, "always")
		// A retention written as 0 keeps every file; only an absent one
		// defaults.
		if _, written := c.pos["export.file.retention"]; !written && f.Retention == 0 {
			f.Retention = 30 * Day
		}
	}
	if w := x.Webhook; w != nil {
		setString(&w.AuthHeader, "Authorization")
		if w.BatchSize == 0 {
			w.BatchSize = 500
		}
		setDuration(&w.BatchWait, Second)
		setDuration(&w.Timeout, 10*Second)
		setDuration(&w.MinBackoff, Second/2)
		setDuration(&w.MaxBackoff, Minute)
	}
}
