package decide

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/marquee-proxy/marquee/config"
)

// A catalog named by a document from the admin API or another node is
// read only from catalog_dir, only when it is a small regular file, and
// its contents never appear in an error.
func TestCatalogConfinedToDir(t *testing.T) {
	top := t.TempDir()
	conf := filepath.Join(top, "conf")
	outside := filepath.Join(top, "outside")
	for _, d := range []string{conf, outside, filepath.Join(conf, "sub")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	write := func(path, data string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	const secret = "hunter2-top-secret"
	write(filepath.Join(conf, "good.json"), `[{"id":"a"}]`)
	write(filepath.Join(conf, "sub", "good.json"), `[{"id":"b"}]`)
	write(filepath.Join(outside, "shadow"), "root:"+secret+":19000:0:99999:7:::\n")
	write(filepath.Join(outside, "cat.json"), `[{"id":"x"}]`)
	write(filepath.Join(conf, "bad.json"), `[{"id":"a"}, `+secret+`]`)
	write(filepath.Join(conf, "bad.ndjson"), "{\"id\":\"a\"}\n"+secret+"\n")
	write(filepath.Join(conf, "unknown.json"), `[{"id":"a","`+secret+`":1}]`)
	write(filepath.Join(conf, "dup.json"), `[{"id":"`+secret+`"},{"id":"`+secret+`"}]`)
	if err := os.Symlink(filepath.Join(outside, "shadow"), filepath.Join(conf, "escape.json")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../outside/shadow", filepath.Join(conf, "sub", "rel-escape.json")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("good.json", filepath.Join(conf, "alias.json")); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(conf, "fifo.json"), 0o600); err != nil {
		t.Fatal(err)
	}
	big, err := os.Create(filepath.Join(conf, "big.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := big.Truncate(MaxCatalogBytes + 1); err != nil { // sparse
		t.Fatal(err)
	}
	big.Close()
	write(filepath.Join(conf, "marquee.yaml"), "origin: http://o:1\n")
	base, err := config.Load(filepath.Join(conf, "marquee.yaml"))
	if err != nil {
		t.Fatal(err)
	}

	for _, tt := range []struct {
		catalog string
		ok      bool
	}{
		{"good.json", true},
		{"sub/good.json", true},
		{"sub/../good.json", true},
		{"alias.json", true},
		{filepath.Join(conf, "good.json"), true},
		{"/etc/passwd", false},
		{"/etc/shadow", false},
		{filepath.Join(outside, "shadow"), false},
		{"../outside/shadow", false},
		{"../outside/cat.json", false},
		{filepath.Join(outside, "cat.json"), false},
		{"sub/../../outside/shadow", false},
		{"escape.json", false},
		{"sub/rel-escape.json", false},
		{"fifo.json", false},
		{".", false},
		{"sub", false},
		{"big.json", false},
		{"bad.json", false},
		{"bad.ndjson", false},
		{"unknown.json", false},
		{"dup.json", false},
		{"missing.json", false},
	} {
		doc := "catalog: '" + tt.catalog + "'\ncampaigns: []\n"
		cfg, err := base.WithDecisions("body", []byte(doc))
		if err != nil {
			t.Fatalf("%s: WithDecisions: %v", tt.catalog, err)
		}
		start := time.Now()
		_, err = Compile(cfg)
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("%s: took %v", tt.catalog, d)
		}
		if tt.ok != (err == nil) {
			t.Errorf("%s: err %v, want ok=%v", tt.catalog, err, tt.ok)
			continue
		}
		if err != nil {
			msg := err.Error()
			if strings.Contains(msg, secret) || strings.Contains(msg, "root:") || strings.Contains(msg, "'r'") {
				t.Errorf("%s: error quotes the file: %s", tt.catalog, msg)
			}
		}
	}
}

// catalog_dir widens or moves where catalogs may come from.
func TestCatalogDir(t *testing.T) {
	top := t.TempDir()
	conf := filepath.Join(top, "conf")
	data := filepath.Join(top, "data")
	for _, d := range []string{conf, data} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(data, "c.json"), []byte(`[{"id":"a"}]`), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(conf, "marquee.yaml"), []byte("origin: http://o:1\ncatalog_dir: ../data\ncatalog: ../data/c.json\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	base, err := config.Load(filepath.Join(conf, "marquee.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	e, err := Compile(base)
	if err != nil {
		t.Fatal(err)
	}
	if e.catalog.Len() != 1 {
		t.Fatalf("catalog has %d products", e.catalog.Len())
	}
	cfg, err := base.WithDecisions("body", []byte("catalog: "+filepath.Join(conf, "marquee.yaml")+"\ncampaigns: []\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Compile(cfg); err == nil {
		t.Fatal("a file outside catalog_dir was read")
	}
}
