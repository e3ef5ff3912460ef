package personalize

import (
	"testing"
	"time"
)

func BenchmarkCustomerVerify(b *testing.B) {
	key := []byte("0123456789abcdef0123456789abcdef")
	other := []byte("fedcba9876543210fedcba9876543210")
	keys := [][]byte{other, key} // the signing key second, as after a rotation
	b.Run("hmac", func(b *testing.B) {
		v := testVerifier(b, CustomerHMAC, time.Time{}, keys...)
		c := []byte(SignCustomerHMAC("cust-1234567", key))
		buf := make([]byte, 0, 64)
		b.ReportAllocs()
		for b.Loop() {
			var ok bool
			if buf, ok = v.AppendVerify(buf[:0], c); !ok {
				b.Fatal("verify failed")
			}
		}
	})
	b.Run("jwt", func(b *testing.B) {
		v := testVerifier(b, CustomerJWT, time.Unix(1_800_000_000, 0), keys...)
		c := []byte(makeJWT(key, `{"alg":"HS256","typ":"JWT"}`, `{"sub":"cust-1234567","iat":1799990000,"nbf":1799990000,"exp":1800003600}`))
		buf := make([]byte, 0, 64)
		b.ReportAllocs()
		for b.Loop() {
			var ok bool
			if buf, ok = v.AppendVerify(buf[:0], c); !ok {
				b.Fatal("verify failed")
			}
		}
	})
}
