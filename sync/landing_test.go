package sync

import (
	"testing"
	"time"

	"github.com/marquee-proxy/marquee/profile"
)

// TestLanding: the view that starts a session records its path; views
// within the session do not.
func TestLanding(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	steps := []struct {
		at       time.Duration
		path     string
		landing  string
		sessions int
	}{
		{0, "/sale", "/sale", 1},
		{10 * time.Minute, "/c/shoes", "/sale", 1},
		{35 * time.Minute, "", "/sale", 1},               // within 30 minutes of the last view
		{2 * time.Hour, "/home", "/home", 2},             // a new session
		{2*time.Hour + time.Minute, "/sale", "/home", 2}, // the same session
		{5 * time.Hour, "", "/home", 3},                  // a session without a known path
	}
	p := &profile.Profile{}
	for i, s := range steps {
		ApplyEvent(p, &Event{Type: EventView, TS: t0.Add(s.at), Path: s.path}, time.UTC)
		if p.Landing != s.landing || p.Sessions != s.sessions {
			t.Errorf("step %d: landing %q, sessions %d; want %q, %d", i, p.Landing, p.Sessions, s.landing, s.sessions)
		}
	}
}

// TestMergeLanding: the later session's landing wins, whichever copy
// arrives first.
func TestMergeLanding(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		a, b profile.Profile
		want string
	}{
		{"later wins", profile.Profile{Landing: "/a", SessionStart: t0}, profile.Profile{Landing: "/b", SessionStart: t0.Add(time.Hour)}, "/b"},
		{"one empty", profile.Profile{}, profile.Profile{Landing: "/b", SessionStart: t0}, "/b"},
		{"tie", profile.Profile{Landing: "/z", SessionStart: t0}, profile.Profile{Landing: "/b", SessionStart: t0}, "/b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, order := range [][2]profile.Profile{{tt.a, tt.b}, {tt.b, tt.a}} {
				dst, src := order[0], order[1]
				mergeLanding(&dst, &src)
				if dst.Landing != tt.want {
					t.Errorf("got %q, want %q", dst.Landing, tt.want)
				}
			}
		})
	}
}

func TestNormalizePath(t *testing.T) {
	now := time.Now()
	tests := []struct {
		path string
		ok   bool
	}{
		{"", false}, // a view needs something: here, its path
		{"/c/shoes", true},
		{"c/shoes", false},
		{"/" + string(make([]byte, MaxPathLen)), false},
		{"/a\x00b", false},
	}
	for _, tt := range tests {
		e := Event{ID: "e1", Type: EventView, Visitor: "v1", Path: tt.path}
		ferr := EventRules{}.Normalize(&e, now)
		if (ferr == nil) != tt.ok || ferr != nil && tt.path != "" && ferr.Field != "path" {
			t.Errorf("path %q: got %v, want ok %v", tt.path, ferr, tt.ok)
		}
	}
}
