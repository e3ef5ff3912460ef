package admin

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/marquee-proxy/marquee/profile"
	msync "github.com/marquee-proxy/marquee/sync"
)

// TestPatchWinsWhereItChangesNothing checks that an acknowledged PATCH
// wins over an older write from another node even when it leaves this
// node's copy as it was: setting the value this node already shows, or
// removing a key it does not hold. Two nodes, A and B, exchange their
// copies only at the end.
func TestPatchWinsWhereItChangesNothing(t *testing.T) {
	tests := []struct {
		name    string
		a, b    string // bodies: A first, then B, later
		initial string // applied on B and copied to A before
		check   func(p *profile.Profile) bool
	}{
		{"opt-in again after an opt-out elsewhere",
			`{"consent":{"personalization":false}}`, `{"consent":{"personalization":true}}`,
			`{"consent":{"personalization":true}}`,
			func(p *profile.Profile) bool { return p.Consent.Allows() }},
		{"the same attribute value again",
			`{"attrs":{"tier":"silver"}}`, `{"attrs":{"tier":"gold"}}`,
			`{"attrs":{"tier":"gold"}}`,
			func(p *profile.Profile) bool { return p.Attrs["tier"] == "gold" }},
		{"a removal of a key this node does not hold",
			`{"attrs":{"tier":"silver"}}`, `{"attrs":{"tier":null}}`,
			`{}`,
			func(p *profile.Profile) bool { _, ok := p.Attrs["tier"]; return !ok }},
		{"a score set again",
			`{"scores":{"propensity":0.1}}`, `{"scores":{"propensity":0.9}}`,
			`{"scores":{"propensity":0.9}}`,
			func(p *profile.Profile) bool { return p.Scores["propensity"] == 0.9 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srvA, stA := newAdminNode(t, msync.Options{Node: "a"}, Options{})
			srvB, stB := newAdminNode(t, msync.Options{Node: "b"}, Options{})
			patch := func(srv *httptest.Server, body string) {
				t.Helper()
				if resp, out := adminDo(t, srv, "PATCH", "/v1/profiles/v1", "", body); resp.StatusCode != 200 {
					t.Fatalf("PATCH %s: %d %s", body, resp.StatusCode, out)
				}
				time.Sleep(2 * time.Millisecond) // the next write is later
			}
			copyTo := func(from, to *msync.Store) {
				t.Helper()
				p, err := from.Get("v1")
				if err != nil || p == nil {
					t.Fatalf("get: %v %v", p, err)
				}
				if _, err := to.MergeRemote(p.Clone()); err != nil {
					t.Fatal(err)
				}
			}
			patch(srvB, tt.initial)
			copyTo(stB, stA)
			patch(srvA, tt.a) // B has not heard of it
			patch(srvB, tt.b) // acknowledged last
			copyTo(stA, stB)
			copyTo(stB, stA)
			for name, st := range map[string]*msync.Store{"a": stA, "b": stB} {
				p, err := st.Get("v1")
				if err != nil || p == nil || !tt.check(p) {
					t.Errorf("node %s ends with %+v (%v): the last acknowledged PATCH %s was lost", name, p, err, tt.b)
				}
			}
		})
	}
}
