package personalize

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"
	"time"
)

// The verifiers CustomerVerifier replaced, built on encoding/json, kept as
// the reference the tests and fuzzers compare it with: CustomerVerifier
// must never accept what these refuse, nor yield another id.

// refVerifyHMACValue checks an "ID.MAC" value and returns ID.
func refVerifyHMACValue(v []byte, keys [][]byte) []byte {
	i := bytes.LastIndexByte(v, '.')
	if i <= 0 {
		return nil
	}
	id, mac := v[:i], v[i+1:]
	var got [sha256.Size + 3]byte
	if len(mac) != base64.RawURLEncoding.EncodedLen(sha256.Size) {
		return nil
	}
	if n, err := base64.RawURLEncoding.Decode(got[:], mac); err != nil || n != sha256.Size {
		return nil
	}
	for _, k := range keys {
		m := hmac.New(sha256.New, k)
		m.Write(id)
		if hmac.Equal(m.Sum(nil), got[:sha256.Size]) {
			return id
		}
	}
	return nil
}

// refVerifyJWT checks an HS256 JWT and returns its "sub".
func refVerifyJWT(tok []byte, keys [][]byte, now time.Time) (string, bool) {
	if len(tok) > maxJWT {
		return "", false
	}
	parts := bytes.Split(tok, []byte{'.'})
	if len(parts) != 3 {
		return "", false
	}
	sig := make([]byte, base64.RawURLEncoding.DecodedLen(len(parts[2])))
	n, err := base64.RawURLEncoding.Decode(sig, parts[2])
	if err != nil || n != sha256.Size {
		return "", false
	}
	signed := tok[:len(parts[0])+1+len(parts[1])]
	ok := false
	for _, k := range keys {
		m := hmac.New(sha256.New, k)
		m.Write(signed)
		if hmac.Equal(m.Sum(nil), sig[:n]) {
			ok = true
		}
	}
	if !ok {
		return "", false
	}
	var hdr struct {
		Alg  string `json:"alg"`
		Crit []any  `json:"crit"`
	}
	if !refDecodeJWTPart(parts[0], &hdr) || hdr.Alg != "HS256" || hdr.Crit != nil {
		return "", false
	}
	var claims struct {
		Sub string   `json:"sub"`
		Exp *float64 `json:"exp"`
		Nbf *float64 `json:"nbf"`
	}
	if !refDecodeJWTPart(parts[1], &claims) || claims.Sub == "" {
		return "", false
	}
	unix := float64(now.Unix())
	if claims.Exp != nil && unix >= *claims.Exp {
		return "", false
	}
	if claims.Nbf != nil && unix < *claims.Nbf {
		return "", false
	}
	return strings.TrimSpace(claims.Sub), true
}

func refDecodeJWTPart(part []byte, v any) bool {
	raw := make([]byte, base64.RawURLEncoding.DecodedLen(len(part)))
	n, err := base64.RawURLEncoding.Decode(raw, part)
	if err != nil {
		return false
	}
	return json.Unmarshal(raw[:n], v) == nil
}
