package proxy

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestImportsStayDown pins the dependency direction: the proxy serves any
// rewrite stage and knows nothing of visitors, rules, profiles or the
// admin API, so it imports none of the packages that do.
func TestImportsStayDown(t *testing.T) {
	forbidden := []string{"decide", "sync", "cluster", "admin", "personalize", "profile", "config"}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, src, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			for _, pkg := range forbidden {
				if path == "github.com/marquee-proxy/marquee/"+pkg || strings.HasPrefix(path, "github.com/marquee-proxy/marquee/"+pkg+"/") {
					t.Errorf("%s imports %s", name, path)
				}
			}
		}
	}
}
