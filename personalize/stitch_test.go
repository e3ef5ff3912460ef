package personalize

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strings"
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

func testVerifier(t testing.TB, format CustomerFormat, now time.Time, keys ...[]byte) *CustomerVerifier {
	t.Helper()
	v, err := NewCustomerVerifier(format, keys, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// flipLast returns s with its last character changed.
func flipLast(s string) string {
	c := byte('A')
	if s[len(s)-1] == c {
		c = 'B'
	}
	return s[:len(s)-1] + string(c)
}

var (
	jwtKey   = []byte("0123456789abcdef0123456789abcdef")
	jwtOther = []byte("fedcba9876543210fedcba9876543210")
	jwtNow   = time.Unix(1_800_000_000, 0)
)

const hs256 = `{"alg":"HS256","typ":"JWT"}`

// jwtCases are signed under jwtKey unless they say otherwise. stricter
// marks a token the encoding/json verifier accepted and CustomerVerifier
// refuses, on purpose.
var jwtCases = []struct {
	name, tok string
	otherKey  bool // verify under jwtKey alone, not jwtOther and jwtKey
	want      string
	stricter  bool
}{
	{name: "valid", tok: makeJWT(jwtKey, hs256, `{"sub":"cust-1","exp":1800000060}`), want: "cust-1"},
	{name: "no exp", tok: makeJWT(jwtKey, hs256, `{"sub":"cust-1"}`), want: "cust-1"},
	{name: "rotated key", tok: makeJWT(jwtOther, hs256, `{"sub":"cust-1"}`), want: "cust-1"},
	{name: "expired", tok: makeJWT(jwtKey, hs256, `{"sub":"cust-1","exp":1799999999}`)},
	{name: "expires now", tok: makeJWT(jwtKey, hs256, `{"sub":"cust-1","exp":1800000000}`)},
	{name: "expires in half a second", tok: makeJWT(jwtKey, hs256, `{"sub":"cust-1","exp":1800000000.5}`), want: "cust-1"},
	{name: "exp exponent", tok: makeJWT(jwtKey, hs256, `{"sub":"cust-1","exp":1.8000001E9}`), want: "cust-1"},
	{name: "not yet", tok: makeJWT(jwtKey, hs256, `{"sub":"cust-1","nbf":1800000100}`)},
	{name: "valid from now", tok: makeJWT(jwtKey, hs256, `{"sub":"cust-1","nbf":1800000000}`), want: "cust-1"},
	{name: "exp string", tok: makeJWT(jwtKey, hs256, `{"sub":"cust-1","exp":"1800000060"}`)},
	{name: "exp bool", tok: makeJWT(jwtKey, hs256, `{"sub":"cust-1","exp":true}`)},
	{name: "exp out of range", tok: makeJWT(jwtKey, hs256, `{"sub":"cust-1","exp":1e400}`)},
	{name: "exp null", tok: makeJWT(jwtKey, hs256, `{"sub":"cust-1","exp":null}`), stricter: true},
	{name: "nbf string", tok: makeJWT(jwtKey, hs256, `{"sub":"cust-1","nbf":"0"}`)},
	{name: "other key", tok: makeJWT(jwtOther, hs256, `{"sub":"cust-1"}`), otherKey: true},
	{name: "forged", tok: flipLast(makeJWT(jwtKey, hs256, `{"sub":"cust-1"}`))},
	{name: "truncated", tok: func() string { s := makeJWT(jwtKey, hs256, `{"sub":"cust-1"}`); return s[:len(s)-1] }()},
	{name: "padded", tok: makeJWT(jwtKey, hs256, `{"sub":"cust-1"}`) + "="},
	{name: "claims swapped", tok: func() string {
		a := strings.Split(makeJWT(jwtKey, hs256, `{"sub":"cust-1"}`), ".")
		b := strings.Split(makeJWT(jwtKey, hs256, `{"sub":"cust-2"}`), ".")
		return a[0] + "." + b[1] + "." + a[2]
	}()},
	{name: "alg none", tok: makeJWT(jwtKey, `{"alg":"none"}`, `{"sub":"cust-1"}`)},
	{name: "alg none unsigned", tok: strings.Join(strings.Split(makeJWT(jwtKey, `{"alg":"none"}`, `{"sub":"cust-1"}`), ".")[:2], ".") + "."},
	{name: "alg HS512", tok: makeJWT(jwtKey, `{"alg":"HS512"}`, `{"sub":"cust-1"}`)},
	{name: "alg lower case", tok: makeJWT(jwtKey, `{"alg":"hs256"}`, `{"sub":"cust-1"}`)},
	{name: "alg number", tok: makeJWT(jwtKey, `{"alg":256}`, `{"sub":"cust-1"}`)},
	{name: "no alg", tok: makeJWT(jwtKey, `{"typ":"JWT"}`, `{"sub":"cust-1"}`)},
	{name: "alg twice", tok: makeJWT(jwtKey, `{"alg":"HS256","alg":"none"}`, `{"sub":"cust-1"}`)},
	{name: "alg folded", tok: makeJWT(jwtKey, `{"alg":"HS256","ALG":"none"}`, `{"sub":"cust-1"}`)},
	{name: "alg escaped", tok: makeJWT(jwtKey, `{"\u0061lg":"HS\u00325\u0036"}`, `{"sub":"cust-1"}`), want: "cust-1"},
	{name: "header kid and order", tok: makeJWT(jwtKey, ` { "typ" : "JWT" , "kid":"k1", "alg" : "HS256" } `, `{"sub":"cust-1"}`), want: "cust-1"},
	{name: "crit", tok: makeJWT(jwtKey, `{"alg":"HS256","crit":["x"]}`, `{"sub":"cust-1"}`)},
	{name: "crit null", tok: makeJWT(jwtKey, `{"alg":"HS256","crit":null}`, `{"sub":"cust-1"}`), stricter: true},
	{name: "header not an object", tok: makeJWT(jwtKey, `["HS256"]`, `{"sub":"cust-1"}`)},
	{name: "header trailing data", tok: makeJWT(jwtKey, `{"alg":"HS256"}x`, `{"sub":"cust-1"}`)},
	{name: "no sub", tok: makeJWT(jwtKey, hs256, `{"name":"x"}`)},
	{name: "empty sub", tok: makeJWT(jwtKey, hs256, `{"sub":""}`)},
	{name: "sub number", tok: makeJWT(jwtKey, hs256, `{"sub":12}`)},
	{name: "sub null", tok: makeJWT(jwtKey, hs256, `{"sub":null}`)},
	{name: "sub trimmed", tok: makeJWT(jwtKey, hs256, `{"sub":" \tcust-1\n"}`), want: "cust-1"},
	{name: "sub escaped", tok: makeJWT(jwtKey, hs256, `{"sub":"\u0063ust\/1\t"}`), want: "cust/1"},
	{name: "sub twice", tok: makeJWT(jwtKey, hs256, `{"sub":"cust-1","sub":"cust-2"}`), stricter: true},
	{name: "sub upper case", tok: makeJWT(jwtKey, hs256, `{"SUB":"cust-1"}`), stricter: true},
	{name: "sub long s", tok: makeJWT(jwtKey, hs256, `{"sub":"cust-1","ſub":"cust-2"}`), stricter: true},
	{name: "exp folded", tok: makeJWT(jwtKey, hs256, `{"sub":"cust-1","Exp":1900000000}`), stricter: true},
	{name: "other claims", tok: makeJWT(jwtKey, hs256, `{"iss":"https:\/\/id.example","aud":["a","b"],"sub":"cust-1","iat":1799990000,"https://example.com/roles":{"admin":false,"x":[1,-2.5e3,null,{}]},"name":"J\u00f6rg \ud83d\ude00"}`), want: "cust-1"},
	{name: "claims bad escape", tok: makeJWT(jwtKey, hs256, `{"sub":"cust-1","x":"\q"}`)},
	{name: "claims control char", tok: makeJWT(jwtKey, hs256, "{\"sub\":\"cust-1\",\"x\":\"\x01\"}")},
	{name: "claims bad number", tok: makeJWT(jwtKey, hs256, `{"sub":"cust-1","x":01}`)},
	{name: "claims trailing comma", tok: makeJWT(jwtKey, hs256, `{"sub":"cust-1",}`)},
	{name: "claims trailing data", tok: makeJWT(jwtKey, hs256, `{"sub":"cust-1"}{}`)},
	{name: "claims deeply nested", tok: makeJWT(jwtKey, hs256, `{"sub":"cust-1","x":`+strings.Repeat("[", 40)+strings.Repeat("]", 40)+`}`), stricter: true},
	{name: "claims not base64", tok: func() string {
		a := strings.Split(makeJWT(jwtKey, hs256, `{"sub":"cust-1"}`), ".")
		return makeJWTRaw(jwtKey, a[0], "e30*")
	}()},
	{name: "largest", tok: makeJWT(jwtKey, hs256, `{"sub":"cust-1","pad":"`+strings.Repeat("x", jwtPad(maxJWT))+`"}`), want: "cust-1"},
	{name: "oversized", tok: makeJWT(jwtKey, hs256, `{"sub":"cust-1","pad":"`+strings.Repeat("x", jwtPad(maxJWT+1))+`"}`)},
	{name: "two parts", tok: "a.b"},
	{name: "four parts", tok: makeJWT(jwtKey, hs256, `{"sub":"cust-1"}`) + ".x"},
	{name: "garbage", tok: "a.b.c"},
	{name: "empty", tok: ""},
}

// makeJWTRaw signs already encoded header and claims.
func makeJWTRaw(key []byte, header, claims string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(header + "." + claims))
	return header + "." + claims + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// jwtPad returns the padding that makes the "largest" token n bytes long
// or, when n is not reachable exactly, one byte longer.
func jwtPad(n int) int {
	for pad := 0; ; pad++ {
		if len(makeJWT(jwtKey, hs256, `{"sub":"cust-1","pad":"`+strings.Repeat("x", pad)+`"}`)) >= n {
			return pad
		}
	}
}

func TestVerifyJWT(t *testing.T) {
	for _, tt := range jwtCases {
		if tt.name == "largest" && len(tt.tok) != maxJWT {
			t.Fatalf("largest token is %d bytes, want %d", len(tt.tok), maxJWT)
		}
		t.Run(tt.name, func(t *testing.T) {
			keys := [][]byte{jwtOther, jwtKey}
			if tt.otherKey {
				keys = [][]byte{jwtKey}
			}
			v := testVerifier(t, CustomerJWT, jwtNow, keys...)
			got, ok := v.AppendVerify([]byte("prefix:"), []byte(tt.tok))
			if !ok {
				if string(got) != "prefix:" {
					t.Errorf("a refused token left %q, want the prefix alone", got)
				}
				got = []byte("prefix:")
			}
			if !strings.HasPrefix(string(got), "prefix:") || string(got[len("prefix:"):]) != tt.want || ok != (tt.want != "") {
				t.Errorf("got %q, %v; want %q", got, ok, tt.want)
			}
			ref, refOK := refVerifyJWT([]byte(tt.tok), keys, jwtNow)
			if tt.stricter {
				if !refOK {
					t.Errorf("marked stricter, but encoding/json refuses it too")
				}
			} else if ref != tt.want {
				t.Errorf("encoding/json verifier: got %q, want %q", ref, tt.want)
			}
		})
	}
}

var hmacKey = []byte("0123456789abcdef")

// hmacCases are verified under hmacKey and hmacOther.
var hmacCases = func() []struct{ name, v, want string } {
	good := SignCustomerHMAC("cust-9", hmacKey)
	return []struct{ name, v, want string }{
		{"signed", good, "cust-9"},
		{"rotated key", SignCustomerHMAC("cust-9", hmacOther), "cust-9"},
		{"dotted id", SignCustomerHMAC("a.b@c", hmacKey), "a.b@c"},
		{"wrong key", SignCustomerHMAC("cust-9", []byte("another key, 16+ bytes")), ""},
		{"unsigned", "cust-9", ""},
		{"forged", flipLast(good), ""},
		{"other id same mac", "cust-1" + good[len("cust-9"):], ""},
		{"truncated mac", good[:len(good)-2], ""},
		{"padded mac", good + "=", ""},
		{"long mac", good + "AAAA", ""},
		{"mac not base64", good[:len(good)-1] + "*", ""},
		{"empty id", good[len("cust-9"):], ""},
		{"empty mac", "cust-9.", ""},
		{"trailing dot", good + ".", ""},
		{"empty", "", ""},
	}
}()

var hmacOther = []byte("fedcba9876543210")

func TestVerifyHMACValue(t *testing.T) {
	v := testVerifier(t, CustomerHMAC, time.Time{}, hmacOther, hmacKey)
	for _, tt := range hmacCases {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := v.AppendVerify([]byte("prefix:"), []byte(tt.v))
			if ok != (tt.want != "") || ok && string(got) != "prefix:"+tt.want || !ok && string(got) != "prefix:" {
				t.Errorf("got %q, %v; want %q", got, ok, tt.want)
			}
			if ref := string(refVerifyHMACValue([]byte(tt.v), [][]byte{hmacOther, hmacKey})); ref != tt.want {
				t.Errorf("previous verifier: got %q, want %q", ref, tt.want)
			}
		})
	}
}

func TestNewCustomerVerifier(t *testing.T) {
	for _, tt := range []struct {
		name   string
		format CustomerFormat
		keys   [][]byte
	}{
		{"no keys", CustomerHMAC, nil},
		{"empty key", CustomerJWT, [][]byte{hmacKey, {}}},
		{"unknown format", CustomerFormat(7), [][]byte{hmacKey}},
	} {
		if _, err := NewCustomerVerifier(tt.format, tt.keys, nil); err == nil {
			t.Errorf("%s: accepted", tt.name)
		}
	}
}

// FuzzVerifyJWT checks that CustomerVerifier accepts no token the
// encoding/json verifier refuses, and yields the same customer id: for
// tok as a token, and for tok split at its first '.' into a header and
// claims that are then signed.
func FuzzVerifyJWT(f *testing.F) {
	f.Add(makeJWT(jwtKey, `{"alg":"HS256"}`, `{"sub":"c"}`))
	f.Add("a.b.c")
	f.Add("")
	for _, tt := range jwtCases {
		f.Add(tt.tok)
		if p := strings.Split(tt.tok, "."); len(p) == 3 {
			h, err1 := base64.RawURLEncoding.DecodeString(p[0])
			c, err2 := base64.RawURLEncoding.DecodeString(p[1])
			if err1 == nil && err2 == nil && !strings.Contains(string(h), ".") {
				f.Add(string(h) + "." + string(c))
			}
		}
	}
	keys := [][]byte{jwtKey}
	v := testVerifier(f, CustomerJWT, jwtNow, keys...)
	check := func(t *testing.T, tok []byte) {
		got, ok := v.AppendVerify(nil, tok)
		ref, refOK := refVerifyJWT(tok, keys, jwtNow)
		if ok && (!refOK || string(got) != ref) {
			t.Errorf("%q: got %q, encoding/json verifier %q, %v", tok, got, ref, refOK)
		}
	}
	f.Fuzz(func(t *testing.T, tok string) {
		check(t, []byte(tok))
		if header, claims, ok := strings.Cut(tok, "."); ok {
			check(t, []byte(makeJWT(jwtKey, header, claims)))
		}
	})
}

// FuzzVerifyCustomerHMAC checks CustomerVerifier against the previous HMAC
// verifier, and that any id it signs verifies.
func FuzzVerifyCustomerHMAC(f *testing.F) {
	for _, tt := range hmacCases {
		f.Add(tt.v)
	}
	keys := [][]byte{hmacOther, hmacKey}
	v := testVerifier(f, CustomerHMAC, time.Time{}, keys...)
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := v.AppendVerify(nil, []byte(s))
		ref := refVerifyHMACValue([]byte(s), keys)
		if ok != (ref != nil) || string(got) != string(ref) {
			t.Errorf("%q: got %q, %v; previous verifier %q", s, got, ok, ref)
		}
		if s == "" {
			return
		}
		signed := SignCustomerHMAC(s, hmacKey)
		if got, ok := v.AppendVerify(nil, []byte(signed)); !ok || string(got) != s {
			t.Errorf("%q signed: got %q, %v", s, got, ok)
		}
	})
}
