package bench

import (
	"bytes"
	"compress/gzip"
	"io"
	"testing"

	"github.com/valyala/fasthttp"
)

func TestOrigin(t *testing.T) {
	for _, tc := range []struct {
		name        string
		gzip, nonce bool
		accept      string
	}{
		{"plain", false, false, ""},
		{"gzip", true, false, "gzip"},
		{"gzip-not-accepted", true, false, ""},
		{"nonce", false, true, ""},
		{"nonce-gzip", true, true, "gzip, br"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, err := StartOrigin(OriginOptions{Page: ListingPage, Gzip: tc.gzip, Nonce: tc.nonce})
			if err != nil {
				t.Fatal(err)
			}
			defer o.Close()
			c := &fasthttp.HostClient{Addr: o.Addr()}
			var bodies [][]byte
			for range 2 {
				req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
				req.SetRequestURI(o.URL() + "/")
				if tc.accept != "" {
					req.Header.Set("Accept-Encoding", tc.accept)
				}
				if err := c.Do(req, resp); err != nil {
					t.Fatal(err)
				}
				body := bytes.Clone(resp.Body())
				if enc := string(resp.Header.ContentEncoding()); enc == "gzip" {
					zr, err := gzip.NewReader(bytes.NewReader(body))
					if err != nil {
						t.Fatal(err)
					}
					if body, err = io.ReadAll(zr); err != nil {
						t.Fatal(err)
					}
				} else if tc.accept != "" && tc.gzip {
					t.Errorf("Content-Encoding %q, want gzip", enc)
				}
				bodies = append(bodies, body)
				fasthttp.ReleaseRequest(req)
				fasthttp.ReleaseResponse(resp)
			}
			if len(bodies[0]) != len(o.Page()) {
				t.Fatalf("body is %d bytes, want %d", len(bodies[0]), len(o.Page()))
			}
			if same := bytes.Equal(bodies[0], bodies[1]); same == tc.nonce {
				t.Errorf("two responses equal: %v, want %v", same, !tc.nonce)
			}
			if !tc.nonce && !bytes.Equal(bodies[0], ListingPage) {
				t.Error("body differs from the page")
			}
		})
	}
	for _, tc := range []struct {
		opts OriginOptions
		want string
	}{
		{OriginOptions{Page: ListingPage}, "public, max-age=60"},
		{OriginOptions{Page: ListingPage, MaxAge: CacheMaxAge}, "public, max-age=86400"},
		{OriginOptions{Page: ListingPage, MaxAge: CacheMaxAge, Nonce: true}, "private, no-store"},
	} {
		o, err := StartOrigin(tc.opts)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := fasthttpGet(o.URL() + "/")
		o.Close()
		if err != nil {
			t.Fatal(err)
		}
		if got := resp.Header.Peek("Cache-Control"); string(got) != tc.want {
			t.Errorf("MaxAge %v, nonce %v: Cache-Control %q, want %q", tc.opts.MaxAge, tc.opts.Nonce, got, tc.want)
		}
		fasthttp.ReleaseResponse(resp)
	}
	if o, _ := StartOrigin(OriginOptions{Page: ListingPage}); o.Requests() != 0 {
		t.Error("fresh origin counts requests")
	} else {
		o.Close()
	}
}

// fasthttpGet gets url; the caller releases the response.
func fasthttpGet(url string) (*fasthttp.Response, error) {
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	req.SetRequestURI(url)
	return resp, fasthttp.Do(req, resp)
}
