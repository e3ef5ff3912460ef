package personalize

import (
	"bytes"
	"strings"
	"testing"
)

func testSigner(t testing.TB, keys ...string) *Signer {
	t.Helper()
	var kb [][]byte
	for _, k := range keys {
		kb = append(kb, []byte(k))
	}
	s, err := NewSigner(kb)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSignerMintVerify(t *testing.T) {
	s := testSigner(t, "key-one-0123456789abcdef")
	v := s.AppendMint(nil)
	if len(v) != CookieValueLen {
		t.Fatalf("minted %q: %d bytes, want %d", v, len(v), CookieValueLen)
	}
	id, ok := s.Verify(v)
	if !ok || !bytes.Equal(id, v[:VisitorIDLen]) {
		t.Fatalf("Verify(minted) = %q, %v", id, ok)
	}
	if v2 := s.AppendMint(nil); bytes.Equal(v[:VisitorIDLen], v2[:VisitorIDLen]) {
		t.Error("two mints gave the same visitor id")
	}
	signed, err := s.Sign(string(id))
	if err != nil || signed != string(v) {
		t.Errorf("Sign(id) = %q, %v; want %q", signed, err, v)
	}
	if _, err := s.Sign("short"); err == nil {
		t.Error("Sign accepted a malformed id")
	}
}

func TestSignerRejects(t *testing.T) {
	s := testSigner(t, "key-one-0123456789abcdef")
	other := testSigner(t, "another-key-0123456789ab")
	good := string(s.AppendMint(nil))
	flip := func(i int) string {
		b := []byte(good)
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		return string(b)
	}
	tests := []struct{ name, value string }{
		{"empty", ""},
		{"truncated", good[:len(good)-1]},
		{"oversized", good + "A"},
		{"very long", strings.Repeat("A", 10000)},
		{"id changed", flip(0)},
		{"kid changed", flip(VisitorIDLen + 1)},
		{"mac changed", flip(len(good) - 2)},
		{"dots moved", good[:VisitorIDLen] + "x" + good[VisitorIDLen+1:]},
		{"unknown key", string(other.AppendMint(nil))},
		{"not base64", strings.Repeat("!", VisitorIDLen) + good[VisitorIDLen:]},
		{"binary", string(bytes.Repeat([]byte{0xff}, CookieValueLen))},
	}
	for _, tt := range tests {
		if id, ok := s.Verify([]byte(tt.value)); ok {
			t.Errorf("%s: Verify(%q) accepted, id %q", tt.name, tt.value, id)
		}
	}
}

func TestSignerRotation(t *testing.T) {
	old := testSigner(t, "old-key-0123456789abcdef")
	rotated := testSigner(t, "new-key-0123456789abcdef", "old-key-0123456789abcdef")
	v := old.AppendMint(nil)
	if _, ok := rotated.Verify(v); !ok {
		t.Error("a cookie signed with the old key no longer verifies after rotation")
	}
	nv := rotated.AppendMint(nil)
	if _, ok := old.Verify(nv); ok {
		t.Error("the new key did not sign")
	}
	if _, err := NewSigner(nil); err == nil {
		t.Error("NewSigner(nil) succeeded")
	}
}

func FuzzVerify(f *testing.F) {
	s := testSigner(f, "key-one-0123456789abcdef")
	f.Add(s.AppendMint(nil))
	f.Add([]byte(""))
	f.Add([]byte("a.b.c"))
	f.Fuzz(func(t *testing.T, v []byte) {
		id, ok := s.Verify(v)
		if ok && !bytes.Equal(id, v[:VisitorIDLen]) {
			t.Fatalf("Verify returned id %q not from the value", id)
		}
	})
}
