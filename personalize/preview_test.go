package personalize

import (
	"testing"
	"time"
)

// oldToken is a preview token of the original four-part form, for
// campaign "summer-sale", variant "b", valid until 2100, under the key
// "test-key-0123456789abcdef": links minted before drafts and visitors
// existed must keep working.
const oldToken = "c3VtbWVyLXNhbGU.Yg.4102444800.6sNV1H4ZaLG0ue7oslNoRw"

// heldID is a held preview's id, of the shape HoldPreview returns.
const heldID = "SGVsZFByZXZpZXctMDAwMQ"

// newToken is the same naming the held preview heldID.
const newToken = "c3VtbWVyLXNhbGU.Yg.4102444800.SGVsZFByZXZpZXctMDAwMQ.dUqAskDMB1SXWzRIbgqpEw"

const previewKey = "test-key-0123456789abcdef"

func TestPreviewTokenForms(t *testing.T) {
	s := testSigner(t, previewKey)
	exp := time.Unix(4102444800, 0)
	tests := []struct {
		name  string
		p     Preview
		token string
	}{
		{"original form", Preview{Campaign: "summer-sale", Variant: "b", Expires: exp}, oldToken},
		{"held preview", Preview{Campaign: "summer-sale", Variant: "b", Expires: exp, Held: heldID}, newToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := s.SignPreviewToken(tt.p); got != tt.token {
				t.Errorf("signed %q, want %q", got, tt.token)
			}
			got, err := s.VerifyPreview([]byte(tt.token), time.Now())
			if err != nil || got != tt.p {
				t.Errorf("verified %+v, %v, want %+v", got, err, tt.p)
			}
		})
	}
}

func TestPreviewTokenRoundTrip(t *testing.T) {
	s := testSigner(t, previewKey)
	now := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	for _, p := range []Preview{
		{Campaign: "c", Expires: now.Add(time.Hour)},
		{Campaign: "c.with.dots", Variant: "v.1", Expires: now.Add(time.Hour), Held: heldID},
		{Campaign: "c", Expires: now.Add(time.Hour), Held: "AAAAAAAAAAAAAAAAAAAAAA"},
	} {
		got, err := s.VerifyPreview([]byte(s.SignPreviewToken(p)), now)
		if err != nil || got.Campaign != p.Campaign || got.Variant != p.Variant || got.Held != p.Held || !got.Expires.Equal(p.Expires) {
			t.Errorf("%+v came back as %+v, %v", p, got, err)
		}
	}
}

func TestPreviewTokenRejected(t *testing.T) {
	s := testSigner(t, previewKey)
	other := testSigner(t, "another-key")
	now := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	exp := now.Add(time.Hour)
	sign := func(p Preview) string { p.Expires = exp; return s.SignPreviewToken(p) }
	const heldB = "QW5vdGhlckhlbGRJZC0wMD"
	a := sign(Preview{Campaign: "c", Held: heldID})
	b := sign(Preview{Campaign: "c", Held: heldB})
	// swap replaces part i of token a by token b's.
	swap := func(i int) string {
		pa, pb := splitDots(a), splitDots(b)
		pa[i] = pb[i]
		return joinDots(pa)
	}
	// alter changes one character of part i of token a.
	alter := func(i int) string {
		pa := splitDots(a)
		c := []byte(pa[i])
		c[0] ^= 'A' ^ 'B'
		pa[i] = string(c)
		return joinDots(pa)
	}
	tests := []struct{ name, token string }{
		{"held id swapped", swap(3)},
		{"held id altered", alter(3)},
		{"campaign altered", alter(0)},
		{"expiry altered", alter(2)},
		{"held id dropped", func() string { p := splitDots(a); return joinDots(append(p[:3], p[4])) }()},
		{"held id added to an old token", func() string {
			p := splitDots(sign(Preview{Campaign: "c"}))
			return joinDots([]string{p[0], p[1], p[2], heldID, p[3]})
		}()},
		{"held id not an id, under a valid mac", sign(Preview{Campaign: "c", Held: "YWRh"})},
		{"held id with a character outside base64url, under a valid mac", sign(Preview{Campaign: "c", Held: "SGVsZFByZXZpZXctMDAw+Q"})},
		{"other key", other.SignPreviewToken(Preview{Campaign: "c", Held: heldID, Expires: exp})},
		{"expired", s.SignPreviewToken(Preview{Campaign: "c", Held: heldID, Expires: now})},
		{"six parts (draft and visitor, never released)", "c3VtbWVyLXNhbGU.Yg.4102444800.RFJBRlRJRA.YWRh.iKCt5v02im-EUFE0a1nXBQ"},
		{"three parts", func() string { p := splitDots(a); return joinDots(p[:3]) }()},
		{"empty", ""},
		{"too long", string(make([]byte, 2000))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if p, err := s.VerifyPreview([]byte(tt.token), now); err == nil {
				t.Errorf("token %q accepted as %+v", tt.token, p)
			}
		})
	}
}

func splitDots(s string) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '.' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

func joinDots(p []string) string {
	s := p[0]
	for _, x := range p[1:] {
		s += "." + x
	}
	return s
}

// FuzzVerifyPreview checks that no token, however malformed, panics the
// parser, and that what verifies signs back to the same token.
func FuzzVerifyPreview(f *testing.F) {
	s := testSigner(f, previewKey)
	for _, seed := range []string{oldToken, newToken, "", ".", "....", ".....", "a.b.c.d.e.f.g",
		"c3VtbWVyLXNhbGU.Yg.4102444800..6sNV1H4ZaLG0ue7oslNoRw",
		"c3VtbWVyLXNhbGU.Yg.4102444800." + heldID + "A.6sNV1H4ZaLG0ue7oslNoRw",
		"c3VtbWVyLXNhbGU.Yg.4102444800.RFJBRlRJRA.YWRh.iKCt5v02im-EUFE0a1nXBQ",
		"c3VtbWVyLXNhbGU.Yg.-1.6sNV1H4ZaLG0ue7oslNoRw"} {
		f.Add(seed)
	}
	now := time.Unix(1765098000, 0)
	f.Fuzz(func(t *testing.T, token string) {
		p, err := s.VerifyPreview([]byte(token), now)
		if err != nil {
			return
		}
		if p.Campaign == "" || !now.Before(p.Expires) {
			t.Fatalf("accepted %q as %+v", token, p)
		}
		if again := s.SignPreviewToken(p); again != token {
			t.Fatalf("%q verified as %+v, which signs as %q", token, p, again)
		}
	})
}
