package sync

import (
	"strings"
	"testing"
	"time"
)

func TestImportMergesAndRejects(t *testing.T) {
	now := t0
	s := openAt(t, "", &now)
	s.ApplyEvent(view("e1", "u1", "electronics", now))
	if _, err := s.Get("u2"); err != nil { // a cached "no profile" must not hide the import
		t.Fatal(err)
	}
	in := strings.Join([]string{
		`{"id":"u1","attrs":{"tier":"gold"}}`,
		`{"id":"u2","attrs":{"tier":"basic"},"scores":{"p":0.5}}`,
		`{"id":"bad id!"}`,
		`{"id":"u2","attrs":{"city":"Oslo"}}`,
		`{"id":"u3","purchases":[{"id":"o1","value":10,"at":"2026-03-01T00:00:00Z"}]}`,
		`{"id":"u4","attrs":{"x":[1]}}`,
	}, "\n")
	var lines []int
	st, err := s.Import(strings.NewReader(in), ImportOptions{BatchSize: 2, Workers: 3, Reject: func(line int, err error) { lines = append(lines, line) }})
	if err != nil || st.Kind != ImportProfiles || st.Imported != 4 || st.Rejected != 2 {
		t.Fatalf("stats %+v, %v", st, err)
	}
	if len(lines) != 2 || lines[0] != 3 || lines[1] != 6 {
		t.Errorf("rejected lines: got %v, want [3 6]", lines)
	}
	u1, _ := s.Get("u1")
	if u1.Attrs["tier"] != "gold" || u1.Views["electronics"] == nil {
		t.Errorf("u1 lost observed behaviour or attrs: %+v", u1)
	}
	u2, _ := s.Get("u2")
	if u2 == nil || u2.Attrs["tier"] != "basic" || u2.Attrs["city"] != "Oslo" || u2.Scores["p"] != 0.5 {
		t.Errorf("u2: %+v", u2)
	}
	if u3, _ := s.Get("u3"); u3 == nil || len(u3.Purchases) != 1 || u3.Version == 0 {
		t.Errorf("u3: %+v", u3)
	}
}

func TestImportEvents(t *testing.T) {
	now := time.Now()
	s := openAt(t, "", &now)
	in := `{"id":"a","type":"view","visitor":"v","category":"x"}
{"id":"a","type":"view","visitor":"v","category":"x"}
{"id":"b","type":"nope","visitor":"v"}`
	st, err := s.Import(strings.NewReader(in), ImportOptions{})
	if err != nil || st.Kind != ImportEvents || st.Imported != 1 || st.Duplicates != 1 || st.Rejected != 1 {
		t.Fatalf("stats %+v, %v", st, err)
	}
}
