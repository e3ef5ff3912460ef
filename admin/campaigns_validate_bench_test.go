package admin

import (
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/marquee-proxy/marquee/internal/demo"
	"github.com/marquee-proxy/marquee/internal/personalizetest"
	"github.com/marquee-proxy/marquee/personalize"
)

// BenchmarkValidateDemo validates the demo's decisions document, as GET
// /v1/campaigns hands it to the console's editor, once per iteration: the
// cost of one keystroke's check, which the console debounces to one per
// 300 ms.
func BenchmarkValidateDemo(b *testing.B) {
	dir := b.TempDir()
	catalog := filepath.Join(dir, "catalog.json")
	if err := os.WriteFile(catalog, demo.CatalogJSON(), 0o600); err != nil {
		b.Fatal(err)
	}
	cfg := "catalog_dir: " + strconv.Quote(dir) + "\ncatalog: " + strconv.Quote(catalog) + "\n" + string(demo.Config())
	env := personalizetest.Start(b, cfg, personalizetest.SlotPage, personalize.Options{})
	doc, err := yaml.Marshal(env.Pers.Snapshot().Config.Decisions())
	if err != nil {
		b.Fatal(err)
	}
	h := mustNew(b, Options{Store: env.Store, Personalizer: env.Pers})
	b.ReportAllocs()
	b.SetBytes(int64(len(doc)))
	for b.Loop() {
		w := httptest.NewRecorder()
		req := httptest.NewRequest("POST", "/v1/campaigns/validate", strings.NewReader(string(doc)))
		req.Host = "localhost" // the anonymous caller is answered only on loopback names
		h.ServeHTTP(w, req)
		if w.Code != 200 || !strings.Contains(w.Body.String(), `"ok": true`) {
			b.Fatalf("%d %s", w.Code, w.Body)
		}
	}
}
