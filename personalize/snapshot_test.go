package personalize

import (
	"strings"
	"testing"

	"github.com/marquee-proxy/marquee/config"
)

// A slots: selector naming a raw text element, and an expression past the
// evaluation budget, are config errors located in the file: refused alike
// at start, on SIGHUP, through PUT /v1/campaigns and from a cluster peer,
// which all compile through here.
func TestCompileRefusesHostileDocuments(t *testing.T) {
	for _, tt := range []struct{ doc, want string }{
		{"slots:\n  - name: hero\n    selector: '#hero'\n  - name: s\n    selector: 'head > SCRIPT'\n", "t.yaml:6: slots[1].selector"},
		{"slots:\n  - name: s\n    selector: textarea.note\n", "raw text"},
		{"segments:\n  big: 'len(replace(repeat(\"a\", 400000), \"a\", repeat(\"b\", 400000))) > 0'\n", "t.yaml:3: segments.big"},
	} {
		cfg, err := config.Parse("t.yaml", []byte("origin: http://127.0.0.1:1\n"+tt.doc))
		if err != nil {
			t.Fatalf("config.Parse: %v", err)
		}
		_, err = Compile(cfg)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: got %v, want an error with %q", tt.doc, err, tt.want)
		}
	}
}
