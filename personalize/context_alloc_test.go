//go:build !race

package personalize

import (
	"testing"
)

// TestRequestContextAllocs: reading a page's request context does not
// allocate once its User-Agent is cached.
func TestRequestContextAllocs(t *testing.T) {
	rc, src := newContextRequest(t)
	var c requestContext
	read := func() {
		c.forPage(src, rc)
		if c.Device().Type != "mobile" || c.Request().Path != "/listing" || c.Query("utm_source") != "newsletter" {
			t.Fatalf("context read %+v %+v", c.Device(), c.Request())
		}
	}
	read()
	if n := testing.AllocsPerRun(200, read); n != 0 {
		t.Errorf("reading the request context allocates %v times, want 0", n)
	}
}
