package personalize

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"testing"
	"time"
)

func makeJWT(key []byte, header, claims string) string {
	enc := base64.RawURLEncoding
	signed := enc.EncodeToString([]byte(header)) + "." + enc.EncodeToString([]byte(claims))
	m := hmac.New(sha256.New, key)
	m.Write([]byte(signed))
	return signed + "." + enc.EncodeToString(m.Sum(nil))
}

func TestVerifyJWT(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	other := []byte("fedcba9876543210fedcba9876543210")
	now := time.Unix(1_800_000_000, 0)
	hs := `{"alg":"HS256","typ":"JWT"}`
	tests := []struct {
		name, tok string
		want      string
	}{
		{"valid", makeJWT(key, hs, `{"sub":"cust-1","exp":1800000060}`), "cust-1"},
		{"no exp", makeJWT(key, hs, `{"sub":"cust-1"}`), "cust-1"},
		{"expired", makeJWT(key, hs, `{"sub":"cust-1","exp":1799999999}`), ""},
		{"not yet", makeJWT(key, hs, `{"sub":"cust-1","nbf":1800000100}`), ""},
		{"other key", makeJWT(other, hs, `{"sub":"cust-1"}`), ""},
		{"alg none", makeJWT(key, `{"alg":"none"}`, `{"sub":"cust-1"}`), ""},
		{"crit", makeJWT(key, `{"alg":"HS256","crit":["x"]}`, `{"sub":"cust-1"}`), ""},
		{"no sub", makeJWT(key, hs, `{"name":"x"}`), ""},
		{"two parts", "a.b", ""},
		{"garbage", "a.b.c", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _ := verifyJWT([]byte(tt.tok), [][]byte{other, key}, now)
			if tt.name == "other key" {
				got, _ = verifyJWT([]byte(tt.tok), [][]byte{key}, now)
			}
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestVerifyHMACValue(t *testing.T) {
	key := []byte("0123456789abcdef")
	good := SignCustomerHMAC("cust-9", key)
	tests := []struct{ name, v, want string }{
		{"signed", good, "cust-9"},
		{"unsigned", "cust-9", ""},
		{"other id same mac", "cust-1" + good[len("cust-9"):], ""},
		{"truncated mac", good[:len(good)-2], ""},
		{"empty id", good[len("cust-9"):], ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(verifyHMACValue([]byte(tt.v), [][]byte{key})); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func FuzzVerifyJWT(f *testing.F) {
	key := []byte("0123456789abcdef0123456789abcdef")
	f.Add(makeJWT(key, `{"alg":"HS256"}`, `{"sub":"c"}`))
	f.Add("a.b.c")
	f.Add("")
	f.Fuzz(func(t *testing.T, tok string) {
		verifyJWT([]byte(tok), [][]byte{key}, time.Unix(0, 0))
		verifyHMACValue([]byte(tok), [][]byte{key})
	})
}
