package config

import (
	"os"
	"testing"
)

// FuzzParse feeds arbitrary text to the decoder: it must return a config or
// located errors, never panic or hang.
func FuzzParse(f *testing.F) {
	if b, err := os.ReadFile("testdata/issue.yaml"); err == nil {
		f.Add(b)
	}
	for _, s := range []string{
		"origin: http://o:1\n",
		"origin: [http://a:1, http://b:2]\nlimits: {read_timeout: 7d, max_request_body: 8MiB}\n",
		"origin: &o http://o:1\nadmin: {token: *o}\n",
		"segments:\n  a: b\n  b: a\n",
		"campaigns:\n  - {id: a, slot: s, template: '{{.X'}\n",
		"- a\n- b\n",
		"a: [\n",
		"origin: http://o:1\n---\nx: 1\n",
		"cluster: {secret_keys: [AAAA], join: [x]}\n",
		"limits: {max_conns: 99999999999999999999}\n",
		"origin: http://o:1\ncache: {max_size: 256MiB, max_object: 5%, stale_if_error: 1d, ignore_query: [utm_*, gclid]}\n",
		"cache: {max_size: 1e400, max_object: '%', ignore_query: ['*x', '']}\n",
		"cache: {max_object: 0.0000001%, x_cache_header: yes, honor_client_no_cache: [1]}\n",
		"origin: http://o:1\ndata_dir: /d\nexport: {ids: hmac, id_key: MDEyMzQ1Njc4OWFiY2RlZg==, file: {retention: 0}, kafka: {brokers: ['k:9092'], topic: t}, webhook: {url: 'https://w/', batch_size: 10}}\n",
		"export: {ids: [x], file: {retention: 1.5d, sync: ''}, webhook: {url: '%zz', min_backoff: 1m, max_backoff: 1s}}\n",
		"export:\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse("fuzz.yaml", data)
		if (c == nil) == (err == nil) {
			t.Fatalf("Parse returned config %v and error %v; want exactly one", c != nil, err)
		}
		if err != nil && err.Error() == "" {
			t.Fatal("empty error message")
		}
	})
}
