package personalize

import "testing"

func TestWithoutFrameAncestors(t *testing.T) {
	tests := []struct {
		in, want string
		had      bool
	}{
		{"default-src 'self'", "default-src 'self'", false},
		{"frame-ancestors 'none'", "", true},
		{"frame-ancestors 'none'; script-src 'self'", "script-src 'self'", true},
		{"script-src 'self';FRAME-ANCESTORS\t'self' https://a.example;img-src *", "script-src 'self'; img-src *", true},
		{"frame-ancestors 'none', script-src 'self'", "script-src 'self'", true},
		{"script-src 'self', frame-ancestors 'none'; img-src *", "script-src 'self', img-src *", true},
		{"frame-ancestors-x y; ;", "frame-ancestors-x y", false},
		{"", "", false},
	}
	for _, tt := range tests {
		got, had := withoutFrameAncestors(nil, []byte(tt.in))
		if string(got) != tt.want || had != tt.had {
			t.Errorf("withoutFrameAncestors(%q) = %q, %v; want %q, %v", tt.in, got, had, tt.want, tt.had)
		}
	}
}
