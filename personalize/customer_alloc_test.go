//go:build !race

package personalize

import (
	"testing"
	"time"
)

func TestCustomerVerifyAllocs(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	other := []byte("fedcba9876543210fedcba9876543210")
	buf := make([]byte, 0, 64)
	for _, tt := range []struct {
		name   string
		format CustomerFormat
		cookie string
	}{
		{"hmac", CustomerHMAC, SignCustomerHMAC("cust-1234567", key)},
		{"jwt", CustomerJWT, makeJWT(key, `{"alg":"HS256","typ":"JWT"}`, `{"sub":" cust-1234567","iat":1799990000,"nbf":1799990000,"exp":1800003600,"roles":["a",{"b":null}]}`)},
	} {
		// The signing key second, so the first is tried and fails.
		v := testVerifier(t, tt.format, time.Unix(1_800_000_000, 0), other, key)
		c := []byte(tt.cookie)
		if n := testing.AllocsPerRun(200, func() {
			var ok bool
			if buf, ok = v.AppendVerify(buf[:0], c); !ok {
				t.Fatalf("%s: verify failed", tt.name)
			}
		}); n != 0 {
			t.Errorf("%s: %v allocations per verify, want 0", tt.name, n)
		}
	}
}
