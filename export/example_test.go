package export_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/marquee-proxy/marquee/export"
)

// An exporter writing daily files: one Subject per page, one record per
// exposure, and Shutdown to flush.
func Example() {
	dir, _ := os.MkdirTemp("", "export")
	defer os.RemoveAll(dir)
	at := time.Date(2026, 12, 7, 10, 15, 0, 123e6, time.UTC)
	e, err := export.New(export.Options{
		Node: "edge-1",
		Now:  func() time.Time { return at },
		File: &export.FileOptions{Dir: dir},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	var s export.Subject
	e.SetSubject(&s, []byte("Zk3visitor"), nil, []byte("/c/shoes?utm_source=mail&reset_token=s3cret"), at)
	e.Exposure(&s, "hero", "hero-test", "b")
	if err := e.Shutdown(context.Background()); err != nil {
		fmt.Println(err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "exposures-2026-12-07.ndjson"))
	fmt.Print(string(b))
	// Output:
	// {"event_id":"edge-1-mxd46azf-1","type":"exposure","time":"2026-12-07T10:15:00.123Z","visitor":"Zk3visitor","customer":null,"url":"/c/shoes?utm_source=mail","campaign":"hero","experiment":"hero-test","variant":"b","node":"edge-1"}
}
