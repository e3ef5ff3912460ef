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
		v := []byte(SignCustomerHMAC("cust-1234567", key))
		b.ReportAllocs()
		for b.Loop() {
			if id := verifyHMACValue(v, keys); id == nil {
				b.Fatal("verify failed")
			}
		}
	})
	b.Run("jwt", func(b *testing.B) {
		now := time.Unix(1_800_000_000, 0)
		v := []byte(makeJWT(key, `{"alg":"HS256","typ":"JWT"}`, `{"sub":"cust-1234567","iat":1799990000,"nbf":1799990000,"exp":1800003600}`))
		b.ReportAllocs()
		for b.Loop() {
			if _, ok := verifyJWT(v, keys, now); !ok {
				b.Fatal("verify failed")
			}
		}
	})
}
