//go:build !race

package personalize

import (
	"testing"

	"github.com/valyala/fasthttp"
)

func TestSignerVerifyAllocs(t *testing.T) {
	s := testSigner(t, "key-one-0123456789abcdef")
	v := s.AppendMint(nil)
	if n := testing.AllocsPerRun(200, func() {
		if _, ok := s.Verify(v); !ok {
			t.Fatal("verify failed")
		}
	}); n != 0 {
		t.Errorf("Verify allocates %v times per call, want 0", n)
	}
	buf := make([]byte, 0, 128)
	if n := testing.AllocsPerRun(200, func() { buf = s.AppendMint(buf[:0]) }); n != 0 {
		t.Errorf("AppendMint allocates %v times per call, want 0", n)
	}
}

func TestVerifyCookiesAllocs(t *testing.T) {
	s := testSigner(t, "key-one-0123456789abcdef")
	v := s.AppendMint(nil)
	var h fasthttp.RequestHeader
	h.Set("Cookie", "a=1; mq_vid=junk; b=2; mq_vid="+string(v))
	if _, ok := s.VerifyCookies(&h, "mq_vid"); !ok {
		t.Fatal("verify failed")
	}
	if n := testing.AllocsPerRun(200, func() {
		if _, ok := s.VerifyCookies(&h, "mq_vid"); !ok {
			t.Fatal("verify failed")
		}
	}); n != 0 {
		t.Errorf("VerifyCookies allocates %v times per call, want 0", n)
	}
}
