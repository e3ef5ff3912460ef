package export

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func ptr[T any](v T) *T { return &v }

func TestRecordSchema(t *testing.T) {
	key := []byte("0123456789abcdef-export")
	mac := func(id string) string {
		h := hmac.New(sha256.New, key)
		h.Write([]byte(id))
		return hex.EncodeToString(h.Sum(nil))
	}
	at := time.Date(2026, 12, 7, 10, 15, 0, 123456789, time.FixedZone("CET", 3600))
	longURL := "/search?q=" + strings.Repeat("é", MaxURL)
	tests := []struct {
		name     string
		hashKey  []byte
		visitor  string
		customer string
		url      string
		conv     bool
		value    float64
		exp      string
		want     line
	}{
		{name: "exposure, raw ids", visitor: "vis1", customer: "cust-9", url: "/p/1?color=red", exp: "hero-test",
			want: line{Type: "exposure", Visitor: ptr("vis1"), Customer: ptr("cust-9"), URL: ptr("/p/1?color=red"), Experiment: ptr("hero-test")}},
		{name: "anonymous, no experiment, no url", visitor: "vis1",
			want: line{Type: "exposure", Visitor: ptr("vis1")}},
		{name: "hashed ids", hashKey: key, visitor: "vis1", customer: "cust-9", url: "/", exp: "x",
			want: line{Type: "exposure", Visitor: ptr(mac("vis1")), Customer: ptr(mac("cust-9")), URL: ptr("/"), Experiment: ptr("x")}},
		{name: "conversion with value", visitor: "vis1", conv: true, value: 79.5, exp: "x",
			want: line{Type: "conversion", Visitor: ptr("vis1"), Value: ptr(79.5), Experiment: ptr("x")}},
		{name: "conversion, bad value counts none", visitor: "vis1", conv: true, value: -3,
			want: line{Type: "conversion", Visitor: ptr("vis1"), Value: ptr(0.0)}},
		{name: "bytes that need escaping", visitor: "v\"1\\", url: "/a\x00b\n\xffc\u2028",
			want: line{Type: "exposure", Visitor: ptr("v\"1\\"), URL: ptr("/a\x00b\n\ufffdc\u2028")}},
		{name: "long url cut at a character", visitor: "v", url: longURL,
			want: line{Type: "exposure", Visitor: ptr("v"), URL: ptr(longURL[:MaxURL-MaxURL%2])}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			e, err := New(Options{Node: "edge-1", HashKey: tc.hashKey, Query: []string{"*"}, File: &FileOptions{Dir: dir, Wait: time.Millisecond}})
			if err != nil {
				t.Fatal(err)
			}
			var s Subject
			e.SetSubject(&s, []byte(tc.visitor), []byte(tc.customer), []byte(tc.url), at)
			if tc.conv {
				e.Conversion(&s, "hero", tc.exp, "b", tc.value)
			} else {
				e.Exposure(&s, "hero", tc.exp, "b")
			}
			if err := e.Shutdown(context.Background()); err != nil {
				t.Fatal(err)
			}
			files, _ := filepath.Glob(filepath.Join(dir, "exposures-*.ndjson"))
			if len(files) != 1 {
				t.Fatalf("files %q, want one", files)
			}
			raw, _ := os.ReadFile(files[0])
			if !utf8.Valid(raw) || !json.Valid(raw) {
				t.Fatalf("not valid UTF-8 JSON: %q", raw)
			}
			got := parseLines(t, raw)
			if len(got) != 1 {
				t.Fatalf("got %d records, want 1", len(got))
			}
			want := tc.want
			want.Campaign, want.Variant, want.Node, want.Time = "hero", "b", "edge-1", "2026-12-07T09:15:00.123Z"
			want.EventID = got[0].EventID
			if !strings.HasPrefix(got[0].EventID, "edge-1-") || !strings.HasSuffix(got[0].EventID, "-1") {
				t.Errorf("event_id %q, want edge-1-BOOT-1", got[0].EventID)
			}
			gj, _ := json.Marshal(got[0])
			wj, _ := json.Marshal(want)
			if string(gj) != string(wj) {
				t.Errorf("got  %s\nwant %s", gj, wj)
			}
		})
	}
}

func TestEventIDsUniqueAcrossRestarts(t *testing.T) {
	dir := t.TempDir()
	c := newClock(time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC))
	seen := map[string]bool{}
	for run := range 2 {
		e, err := New(Options{Node: "n", Now: c.now, File: &FileOptions{Dir: dir, Wait: time.Millisecond}})
		if err != nil {
			t.Fatal(err)
		}
		record(e, 3, c.now())
		if err := e.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
		c.add(time.Millisecond) // a restart takes at least that
		raw, _ := os.ReadFile(filepath.Join(dir, "exposures-2026-12-07.ndjson"))
		lines := parseLines(t, raw)
		if len(lines) != 3*(run+1) {
			t.Fatalf("run %d: %d lines", run, len(lines))
		}
		for _, l := range lines[3*run:] {
			if seen[l.EventID] {
				t.Errorf("event_id %q twice", l.EventID)
			}
			seen[l.EventID] = true
		}
	}
}

func TestNewErrors(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		want error
	}{
		{"no sink", Options{}, ErrNoSink},
		{"short key", Options{HashKey: []byte("short"), File: &FileOptions{Dir: "x"}}, ErrShortKey},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := New(tc.opts); err != tc.want {
				t.Errorf("got %v, want %v", err, tc.want)
			}
		})
	}
}

func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"", "plain", "q\"b\\", "\x00\x1f\x7f", "\xff\xfe", "é\u2028\u2029", "/p?a=1&b=<x>"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b := appendJSONString(nil, s)
		var got string
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("%q encoded as %q: %v", s, b, err)
		}
		if want := strings.ToValidUTF8(s, "\ufffd"); utf8.ValidString(s) && got != want {
			t.Errorf("got %q, want %q", got, want)
		}
		if string(appendJSONString(nil, []byte(s))) != string(b) {
			t.Errorf("string and []byte encode %q differently", s)
		}
	})
}

// A record's url keeps only the query parameters Options.Query names:
// tokens and personal data in a query string stay out of the warehouse.
func TestRecordURLKeepsOnlyNamedQuery(t *testing.T) {
	page := "/account/reset?utm_source=mail&token=SECRET&email=a%40b.example&gclid=g1;sid=x&utm%5Fmedium=m#frag"
	for _, tc := range []struct {
		name  string
		query []string
		want  string
	}{
		{"default", nil, "/account/reset?utm_source=mail&gclid=g1&utm%5Fmedium=m"},
		{"none", []string{}, "/account/reset"},
		{"exact", []string{"email"}, "/account/reset?email=a%40b.example"},
		{"all", []string{"*"}, "/account/reset?utm_source=mail&token=SECRET&email=a%40b.example&gclid=g1;sid=x&utm%5Fmedium=m"},
		{"no query", nil, "/account/reset"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := page
			if tc.name == "no query" {
				u = "/account/reset"
			}
			dir := t.TempDir()
			e, err := New(Options{Query: tc.query, File: &FileOptions{Dir: dir, Wait: time.Millisecond}})
			if err != nil {
				t.Fatal(err)
			}
			var s Subject
			e.SetSubject(&s, []byte("v"), nil, []byte(u), time.Now())
			e.Exposure(&s, "hero", "", "b")
			if err := e.Shutdown(context.Background()); err != nil {
				t.Fatal(err)
			}
			files, _ := filepath.Glob(filepath.Join(dir, "*.ndjson"))
			if len(files) != 1 {
				t.Fatalf("files %q", files)
			}
			raw, _ := os.ReadFile(files[0])
			ls := parseLines(t, raw)
			if len(ls) != 1 || ls[0].URL == nil || *ls[0].URL != tc.want {
				t.Errorf("url %v, want %q", ls, tc.want)
			}
		})
	}
	for _, bad := range []string{"", "a*b", "**", strings.Repeat("x", 65)} {
		if _, err := New(Options{Query: []string{bad}, File: &FileOptions{Dir: t.TempDir()}}); !errors.Is(err, ErrQueryPattern) {
			t.Errorf("Query %q: %v, want ErrQueryPattern", bad, err)
		}
	}
}
