package admin

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/marquee-proxy/marquee/opstate"
	msync "github.com/marquee-proxy/marquee/sync"
)

// BenchmarkPostEvents sends batches of events through the admin API to a
// store on disk: JSON parsing, validation, dedup and one transaction per
// call; with audit=disk, each call is also recorded in an audit log file,
// as a node with a data_dir does.
func BenchmarkPostEvents(b *testing.B) {
	for _, bc := range []struct {
		batch int
		audit bool
	}{{1, false}, {1, true}, {100, false}} {
		name := fmt.Sprintf("batch=%d", bc.batch)
		if bc.audit {
			name += "/audit=disk"
		}
		batch := bc.batch
		b.Run(name, func(b *testing.B) {
			st, err := msync.Open(msync.Options{Dir: b.TempDir()})
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			o := Options{Store: st}
			if bc.audit {
				audit, err := opstate.OpenAudit(b.TempDir(), opstate.AuditOptions{})
				if err != nil {
					b.Fatal(err)
				}
				defer audit.Close()
				o.Audit = audit
			}
			h, _ := New(o)
			srv := httptest.NewServer(h)
			defer srv.Close()
			n := 0
			var body bytes.Buffer
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				body.Reset()
				for range batch {
					fmt.Fprintf(&body, `{"id":"e%d","type":"view","visitor":"v%d","category":"electronics"}`+"\n", n, n%10000)
					n++
				}
				resp, err := srv.Client().Post(srv.URL+"/v1/events", "application/x-ndjson", &body)
				if err != nil {
					b.Fatal(err)
				}
				out, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					b.Fatalf("%s: %s", resp.Status, out)
				}
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
