package gzsplice_test

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"

	"github.com/marquee-proxy/marquee/inject/gzsplice"
)

// A page's fixed parts are compressed once; each response compresses only
// what differs and stitches one gzip member.
func Example() {
	enc, _ := gzsplice.NewEncoder(6)
	head := enc.Segment([]byte("<html><body><div id=hero>"))
	tail := enc.Segment([]byte("</div></body></html>"))

	for _, offer := range []string{"Hello, Ada", "Welcome back"} {
		s := enc.Begin(nil)
		s.AppendSegment(&head)
		s.Append([]byte(offer))
		s.AppendSegment(&tail)
		zr, _ := gzip.NewReader(bytes.NewReader(s.Finish()))
		page, err := io.ReadAll(zr)
		fmt.Println(string(page), err)
	}
	// Output:
	// <html><body><div id=hero>Hello, Ada</div></body></html> <nil>
	// <html><body><div id=hero>Welcome back</div></body></html> <nil>
}
