package proxy

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestNegotiate(t *testing.T) {
	tests := []struct {
		ae   string
		want coding
	}{
		{"", codingIdentity},
		{"gzip", codingGzip},
		{"br", codingBrotli},
		{"gzip, deflate, br", codingGzip},
		{"br;q=1, gzip;q=0.9", codingBrotli},
		{"deflate, br", codingBrotli},
		{"gzip;q=1.0, br;q=0.9", codingGzip},
		{"br;q=0, gzip", codingGzip},
		{"br;q=0, gzip;q=0", codingIdentity},
		{"GZIP", codingGzip},
		{"x-gzip", codingGzip},
		{"*", codingGzip},
		{"*, gzip;q=0", codingBrotli},
		{"*;q=0", codingIdentity},
		{"*;q=0.5, br;q=0", codingGzip},
		{"identity", codingIdentity},
		{"gzip;q=0.5, identity", codingIdentity},
		{"deflate, zstd", codingIdentity},
		{"gzip;q=abc", codingIdentity},
		{"gzip ; q=0.001", codingGzip},
		{"br;q=1.5", codingIdentity},
		{" , ,gzip", codingGzip},
	}
	for _, tt := range tests {
		t.Run(tt.ae, func(t *testing.T) {
			if got := negotiate([]byte(tt.ae)); got != tt.want {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestCodingString(t *testing.T) {
	for c, want := range map[coding]string{codingIdentity: "identity", codingGzip: "gzip", codingBrotli: "br", codingUnknown: "unknown", 99: "unknown"} {
		if got := c.String(); got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
}

func TestEncodeDecodeRoundTrip(t *testing.T) {
	page := []byte(strings.Repeat("<li class=product>hello marquee</li>\n", 2000))
	e := &encoders{gzipLevel: DefaultGzipLevel, brotliQuality: DefaultBrotliQuality}
	for _, c := range []coding{codingIdentity, codingGzip, codingBrotli} {
		t.Run(c.String(), func(t *testing.T) {
			for range 3 { // pooled writers and readers are reused correctly
				var buf bytes.Buffer
				if err := e.encode(&buf, c, page); err != nil {
					t.Fatal(err)
				}
				if c != codingIdentity && buf.Len() >= len(page)/4 {
					t.Errorf("%s: %d bytes from %d, hardly compressed", c, buf.Len(), len(page))
				}
				got, err := appendDecoded(nil, c, buf.Bytes(), len(page))
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, page) {
					t.Fatalf("round trip changed the page")
				}
				if _, err := appendDecoded(nil, c, buf.Bytes(), len(page)-1); !errors.Is(err, errDecodedTooLarge) {
					t.Fatalf("limit: got %v, want errDecodedTooLarge", err)
				}
			}
		})
	}
}

func TestDecodeCorrupt(t *testing.T) {
	for _, c := range []coding{codingGzip, codingBrotli, codingUnknown} {
		if _, err := appendDecoded(nil, c, []byte("\x1f\x8b\x08garbage-garbage-garbage"), 1<<20); err == nil {
			t.Errorf("%s: corrupt input decoded without error", c)
		}
	}
}

func TestParseContentEncoding(t *testing.T) {
	for v, want := range map[string]coding{"": codingIdentity, "identity": codingIdentity, "gzip": codingGzip, " GZip ": codingGzip, "x-gzip": codingGzip, "br": codingBrotli, "deflate": codingUnknown, "gzip, br": codingUnknown} {
		if got := parseContentEncoding([]byte(v)); got != want {
			t.Errorf("%q: got %v, want %v", v, got, want)
		}
	}
}

func FuzzNegotiate(f *testing.F) {
	for _, s := range []string{"gzip", "br;q=0.5, gzip;q=0.8", "*;q=0", ",;q=,", "br;q=1.0000"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, ae string) {
		c := negotiate([]byte(ae))
		if c != codingIdentity && c != codingGzip && c != codingBrotli {
			t.Fatalf("negotiate(%q) = %v", ae, c)
		}
	})
}
