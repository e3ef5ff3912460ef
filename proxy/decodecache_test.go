package proxy

import (
	"bytes"
	"testing"
)

func TestDecodeCache(t *testing.T) {
	c := newDecodeCache()
	raw, body := []byte("compressed-a"), []byte("decoded a")
	if _, k, ok := c.get(codingGzip, raw); ok {
		t.Fatal("hit on an empty cache")
	} else {
		c.put(k, raw, body)
	}
	body[0] = 'X' // the cache keeps its own copy
	got, _, ok := c.get(codingGzip, []byte("compressed-a"))
	if !ok || string(got) != "decoded a" {
		t.Fatalf("get: %q %v", got, ok)
	}
	if _, _, ok := c.get(codingBrotli, raw); ok {
		t.Error("a brotli body matched a gzip entry")
	}
	if _, _, ok := c.get(codingGzip, []byte("compressed-b")); ok {
		t.Error("another body matched")
	}
	// A colliding hash must not return the wrong page: entries are checked
	// against the compressed bytes.
	_, k, _ := c.get(codingGzip, raw)
	c.m.Put(k, &decoded{raw: []byte("something else"), body: []byte("wrong")})
	if got, _, ok := c.get(codingGzip, raw); ok {
		t.Errorf("a mismatched entry was served: %q", got)
	}
	big := bytes.Repeat([]byte("x"), maxCachedDecoded+1)
	_, k, _ = c.get(codingGzip, []byte("big"))
	c.put(k, []byte("big"), big)
	if _, _, ok := c.get(codingGzip, []byte("big")); ok {
		t.Error("an oversized page was cached")
	}
}
