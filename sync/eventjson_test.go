package sync

import (
	"strings"
	"testing"
	"time"

	"github.com/marquee-proxy/marquee/profile"
)

var decodeCases = []struct {
	name  string
	in    string
	field string // "" ok; "!" error without a field
}{
	{"full", `{"id":"e1","type":"purchase","visitor":"v","customer":"c","ts":"2026-03-10T12:00:00Z","category":"x","product":"p","value":9.5,"currency":"EUR","props":{"a":1}}`, ""},
	{"bad type", `{"id":"e1","type":"dance"}`, "type"},
	{"bad ts", `{"id":"e1","type":"view","ts":"yesterday"}`, "ts"},
	{"zero ts", `{"id":"e1","type":"view","ts":"0001-01-01T00:00:00Z"}`, "ts"},
	{"zero ts in a zone", `{"id":"e1","type":"view","ts":"0001-01-01T01:00:00+01:00"}`, "ts"},
	{"ts before 1970", `{"id":"e1","type":"view","ts":"1969-12-31T23:59:59Z"}`, "ts"},
	{"unknown field", `{"id":"e1","type":"view","colour":"red"}`, "colour"},
	{"wrong type", `{"id":1,"type":"view"}`, "id"},
	{"not json", `{id}`, "!"},
	{"trailing", `{"id":"e1","type":"view"} {}`, "!"},
}

func TestDecodeEvent(t *testing.T) {
	for _, tt := range decodeCases {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeEvent([]byte(tt.in))
			switch {
			case tt.field == "" && err != nil:
				t.Fatalf("got %v, want success", err)
			case tt.field == "!" && (err == nil || err.Field != ""):
				t.Fatalf("got %v, want an error without a field", err)
			case tt.field != "" && tt.field != "!" && (err == nil || err.Field != tt.field):
				t.Fatalf("got %v, want an error on %q", err, tt.field)
			}
		})
	}
}

func TestScanItems(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		lines []int
		err   bool
	}{
		{"ndjson", "{\"a\":1}\n\n  \n{\"b\":2}\r\n{\"c\":3}", []int{1, 4, 5}, false},
		{"array", ` [ {"a":1}, {"b":2} ] `, []int{0, 0}, false},
		{"broken array", `[{"a":1},`, []int{0}, true},
		{"empty", "", nil, false},
		{"long line", strings.Repeat("x", 200) + "\n", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var lines []int
			err := ScanItems(strings.NewReader(tt.in), 100, func(_, line int, _ []byte) bool {
				lines = append(lines, line)
				return true
			})
			if (err != nil) != tt.err {
				t.Fatalf("error: got %v, want error=%v", err, tt.err)
			}
			if len(lines) != len(tt.lines) {
				t.Fatalf("lines: got %v, want %v", lines, tt.lines)
			}
			for i := range lines {
				if lines[i] != tt.lines[i] {
					t.Errorf("lines: got %v, want %v", lines, tt.lines)
				}
			}
		})
	}
}

func FuzzDecodeEvent(f *testing.F) {
	for _, tt := range decodeCases {
		f.Add(tt.in)
	}
	f.Fuzz(func(t *testing.T, in string) {
		ev, err := DecodeEvent([]byte(in))
		if err != nil {
			return
		}
		if nerr := (EventRules{}).Normalize(&ev, t0); nerr == nil {
			p := &profile.Profile{}
			ApplyEvent(p, &ev, time.UTC)
		}
	})
}

func FuzzScanItems(f *testing.F) {
	f.Add("{\"a\":1}\n{\"b\":2}")
	f.Add(`[{"a":1},{"b":2}]`)
	f.Add(`[`)
	f.Fuzz(func(t *testing.T, in string) {
		n := 0
		ScanItems(strings.NewReader(in), 1<<10, func(_, _ int, raw []byte) bool {
			DecodeProfileRecord(raw)
			n++
			return n < 1000
		})
	})
}
