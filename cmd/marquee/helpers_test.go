package main

import (
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

// serveOrigin serves h on ln (a new loopback listener when ln is nil) until
// the test ends, and returns the origin's base URL.
func serveOrigin(t *testing.T, ln net.Listener, h http.Handler) string {
	t.Helper()
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String()
}

// pageOrigin answers every request with originPage, and headers given as
// name, value pairs.
func pageOrigin(headers ...string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		for i := 0; i+1 < len(headers); i += 2 {
			w.Header().Set(headers[i], headers[i+1])
		}
		io.WriteString(w, originPage)
	})
}
