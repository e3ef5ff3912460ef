package cache

import (
	"strings"
	"testing"
)

// FuzzDecide feeds arbitrary Cache-Control, Expires, Age, Vary and tag
// values to the storage rules: they must never panic, and what they store
// must be consistent (no stale use of a must-revalidate response, tags
// without separators, bounded).
func FuzzDecide(f *testing.F) {
	for _, tc := range policyCases {
		f.Add(strings.Join(tc.fields, "\n"), "a b,c")
	}
	f.Add("Cache-Control: max-age=\"60\", s-maxage=\"", "\x00 ,")
	f.Add("Cache-Control: ,,,=,", strings.Repeat("t ", 100))
	f.Fuzz(func(t *testing.T, fields, tags string) {
		r := respOf(200, strings.Split(fields, "\n")...)
		r.Fields = append(r.Fields, Field{Name: []byte("Surrogate-Key"), Value: []byte(tags)})
		p, why := decide(reqOf(), r, 0)
		if why.String() == "unknown" {
			t.Fatalf("reason %d has no name", why)
		}
		got := AppendTags(nil, []byte(tags))
		if len(got) > countTags([]byte(tags)) {
			t.Fatalf("%d tags from %d", len(got), countTags([]byte(tags)))
		}
		for _, tag := range got {
			if tag == "" || strings.ContainsAny(tag, " ,\t") {
				t.Fatalf("bad tag %q", tag)
			}
		}
		if why != Storable {
			return
		}
		e := newEntry("http://h/", 7, "http://h/", r, p)
		var all []string
		for _, f := range r.Fields {
			if IsTagField(f.Name) {
				all = AppendTags(all, f.Value)
			}
		}
		if len(e.Tags()) != len(all) {
			t.Fatalf("stored %d tags of %d", len(e.Tags()), len(all))
		}
		if e.noStale && (e.Freshness(p.freshUntil) != Expired || e.UsableOnError(p.freshUntil, 1<<40)) {
			t.Fatalf("a response that must be revalidated is usable stale")
		}
		if e.Age(t0.UnixNano()) < 0 {
			t.Fatal("negative age")
		}
	})
}
