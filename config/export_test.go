package config

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

const exportKey = "MDEyMzQ1Njc4OWFiY2RlZg==" // 16 bytes

func TestExportSection(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want *Export
	}{
		{"no section", "origin: http://o:1\n", nil},
		{"file with defaults", "origin: http://o:1\ndata_dir: /d\nexport:\n  file: {}\n",
			&Export{IDs: "raw", Query: []string{"utm_*", "gclid", "fbclid"}, File: &ExportFile{Retention: 30 * Day, Sync: "always"}}},
		{"retention 0 keeps every file", "origin: http://o:1\ndata_dir: /d\nexport:\n  file: {retention: 0, sync: never}\n",
			&Export{IDs: "raw", Query: []string{"utm_*", "gclid", "fbclid"}, File: &ExportFile{Sync: "never"}}},
		{"every sink, hashed ids", "origin: http://o:1\ndata_dir: /d\nexport:\n  ids: hmac\n  id_key: " + exportKey + "\n  queue: 1000\n" +
			"  file: {retention: 7d}\n  kafka: {brokers: ['127.0.0.1:9092'], topic: exposures}\n" +
			"  webhook: {url: 'https://wh.example/in', auth: Bearer x, batch_size: 50, batch_wait: 2s, max_backoff: 5m}\n",
			&Export{IDs: "hmac", IDKey: exportKey, Queue: 1000, Query: []string{"utm_*", "gclid", "fbclid"},
				File:  &ExportFile{Retention: 7 * Day, Sync: "always"},
				Kafka: &ExportKafka{Brokers: []string{"127.0.0.1:9092"}, Topic: "exposures"},
				Webhook: &ExportWebhook{URL: "https://wh.example/in", Auth: "Bearer x", AuthHeader: "Authorization", BatchSize: 50,
					BatchWait: 2 * Second, Timeout: 10 * Second, MinBackoff: Second / 2, MaxBackoff: 5 * Minute}}},
		{"query kept", "origin: http://o:1\ndata_dir: /d\nexport:\n  query: [ref, 'utm_*']\n  file: {}\n",
			&Export{IDs: "raw", Query: []string{"ref", "utm_*"}, File: &ExportFile{Retention: 30 * Day, Sync: "always"}}},
		{"query empty keeps none", "origin: http://o:1\ndata_dir: /d\nexport:\n  query: []\n  file: {}\n",
			&Export{IDs: "raw", Query: []string{}, File: &ExportFile{Retention: 30 * Day, Sync: "always"}}},
		{"query all", "origin: http://o:1\ndata_dir: /d\nexport:\n  query: ['*']\n  file: {}\n",
			&Export{IDs: "raw", Query: []string{"*"}, File: &ExportFile{Retention: 30 * Day, Sync: "always"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse("t.yaml", []byte(tt.yaml))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(c.Export, tt.want) {
				t.Errorf("got %+v, want %+v", c.Export, tt.want)
			}
		})
	}
}

func TestExportSectionErrors(t *testing.T) {
	base := "origin: http://o:1\ndata_dir: /d\nexport:\n"
	tests := []struct {
		name string
		yaml string
		want []string
	}{
		{"no sink", base + "  ids: raw\n", []string{`t.yaml:4: export: name at least one sink: file, kafka or webhook`}},
		{"file without data_dir", "origin: http://o:1\nexport:\n  file: {}\n", []string{`t.yaml:3: export.file: needs data_dir`}},
		{"retention not in days", base + "  file: {retention: 36h}\n", []string{`t.yaml:4: export.file.retention: 36h0m0s: want whole days`}},
		{"negative retention", base + "  file: {retention: -1d}\n", []string{`export.file.retention: -1d: want whole days`}},
		{"bad sync", base + "  file: {sync: sometimes}\n", []string{`t.yaml:4: export.file.sync: unknown policy "sometimes", want always or never`}},
		{"bad ids", base + "  ids: sha1\n  file: {}\n", []string{`t.yaml:4: export.ids: unknown "sha1", want raw or hmac`}},
		{"hmac without key", base + "  ids: hmac\n  file: {}\n", []string{`export.id_key: required with export.ids hmac`}},
		{"hmac short key", base + "  ids: hmac\n  id_key: c2hvcnQ=\n  file: {}\n", []string{`t.yaml:5: export.id_key: want base64 of at least 16 bytes`}},
		{"key without hmac", base + "  id_key: " + exportKey + "\n  file: {}\n", []string{`export.id_key: set, but export.ids is raw`}},
		{"negative queue", base + "  queue: -1\n  file: {}\n", []string{`t.yaml:4: export.queue: -1: must not be negative`}},
		{"kafka without brokers or topic", base + "  kafka: {}\n", []string{`export.kafka.brokers: required`, `export.kafka.topic: required`}},
		{"kafka bad broker", base + "  kafka: {brokers: [nohost], topic: t}\n", []string{`t.yaml:4: export.kafka.brokers[0]: "nohost": want host:port`}},
		{"webhook without url", base + "  webhook: {}\n", []string{`export.webhook.url: "": want an http:// or https:// URL`}},
		{"webhook ftp", base + "  webhook: {url: 'ftp://x/'}\n", []string{`export.webhook.url: "ftp://x/"`}},
		{"webhook bad header", base + "  webhook: {url: 'http://x/', auth_header: 'X Key'}\n", []string{`export.webhook.auth_header: "X Key" is not a header name`}},
		{"webhook batch too big", base + "  webhook: {url: 'http://x/', batch_size: 1000001}\n", []string{`export.webhook.batch_size: 1000001: want 1 to 100000`}},
		{"webhook negative timeout", base + "  webhook: {url: 'http://x/', timeout: -1s}\n", []string{`export.webhook.timeout: -1s: must be positive`}},
		{"webhook backoff upside down", base + "  webhook: {url: 'http://x/', min_backoff: 1m, max_backoff: 1s}\n", []string{`export.webhook.max_backoff: 1s: less than min_backoff 1m0s`}},
		{"query patterns", base + "  query: [gclid, '', 'a*b', '**']\n  file: {}\n", []string{
			`t.yaml:4: export.query[1]: "": want a query parameter name, a prefix ending in * such as utm_*, or * for every parameter, at most 64 bytes`,
			`export.query[2]: "a*b": want`, `export.query[3]: "**": want`}},
		{"query name too long", base + "  query: [" + strings.Repeat("x", 65) + "]\n  file: {}\n", []string{`export.query[0]: "xxxx`}},
		{"unknown key", base + "  file: {retain: 3d}\n", []string{`t.yaml:4: export.file.retain: unknown field "retain"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("t.yaml", []byte(tt.yaml))
			var errs Errors
			if !errors.As(err, &errs) {
				t.Fatalf("got %v, want config.Errors", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("got %q, want it to contain %q", err, w)
				}
			}
		})
	}
}
