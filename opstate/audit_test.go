package opstate

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/marquee-proxy/marquee/internal/disktest"
)

var auditT0 = time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)

// auditEntry is the i-th entry of a test's log, a second after the one
// before.
func auditEntry(i int) AuditEntry {
	return AuditEntry{Time: auditT0.Add(time.Duration(i) * time.Second), By: "editor", Role: "edit", Action: "profile.put",
		Method: "PUT", Path: "/v1/profiles/visitor-" + strconv.Itoa(i), Status: 200, Summary: "profile visitor-" + strconv.Itoa(i) + " replaced", Remote: "127.0.0.1"}
}

// appendN appends entries from..to-1, failing the test on an error.
func appendN(t *testing.T, l *Audit, from, to int) {
	t.Helper()
	for i := from; i < to; i++ {
		if err := l.Append(auditEntry(i)); err != nil {
			t.Fatal(err)
		}
	}
}

// paths returns the entries' paths, to compare lists briefly.
func paths(es []AuditEntry) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = strings.TrimPrefix(e.Path, "/v1/profiles/visitor-")
	}
	return out
}

func TestAuditList(t *testing.T) {
	l, err := OpenAudit("", AuditOptions{Keep: 5})
	if err != nil {
		t.Fatal(err)
	}
	appendN(t, l, 0, 8)
	tests := []struct {
		name   string
		limit  int
		before time.Time
		want   []string
	}{
		{"all kept, newest first", 100, time.Time{}, []string{"7", "6", "5", "4", "3"}},
		{"limit", 2, time.Time{}, []string{"7", "6"}},
		{"before", 100, auditT0.Add(6 * time.Second), []string{"5", "4", "3"}},
		{"before and limit", 1, auditT0.Add(6 * time.Second), []string{"5"}},
		{"before everything kept", 100, auditT0.Add(3 * time.Second), []string{}},
		{"zero limit", 0, time.Time{}, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := paths(l.List(tt.limit, tt.before)); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// TestAuditReopen checks entries survive a restart, in a file only the
// node's user can read.
func TestAuditReopen(t *testing.T) {
	dir := t.TempDir()
	l, err := OpenAudit(dir, AuditOptions{Keep: 10})
	if err != nil {
		t.Fatal(err)
	}
	appendN(t, l, 0, 3)
	e := auditEntry(3)
	e.Version = "12"
	e.Time = e.Time.In(time.FixedZone("CET", 3600))
	if err := l.Append(e); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	st, err := os.Stat(filepath.Join(dir, AuditFile))
	if err != nil {
		t.Fatal(err)
	}
	if mode := st.Mode().Perm(); mode != 0o600 {
		t.Errorf("mode %o, want 600", mode)
	}
	l, err = OpenAudit(dir, AuditOptions{Keep: 10})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	got := l.List(100, time.Time{})
	if want := []string{"3", "2", "1", "0"}; !reflect.DeepEqual(paths(got), want) {
		t.Fatalf("after reopening: got %q, want %q", paths(got), want)
	}
	e.Time = e.Time.UTC()
	if !reflect.DeepEqual(got[0], e) {
		t.Errorf("got %+v, want %+v", got[0], e)
	}
	appendN(t, l, 4, 5)
	if got := paths(l.List(1, time.Time{})); got[0] != "4" {
		t.Errorf("appended after reopening: newest %q", got)
	}
}

// TestAuditDamagedFile checks a torn last line and a garbled line are
// skipped, not fatal, and that the next entry starts a line of its own.
func TestAuditDamagedFile(t *testing.T) {
	good := func(i int) string {
		b, _ := json.Marshal(auditEntry(i))
		return string(b) + "\n"
	}
	tests := []struct {
		name    string
		content string
		want    []string
	}{
		{"torn last line", good(0) + good(1) + good(2)[:40], []string{"1", "0"}},
		{"garbled line", good(0) + "{\"time\": \x00garbage}\n" + good(1), []string{"1", "0"}},
		{"no action", good(0) + `{"time":"2026-12-07T09:00:00Z"}` + "\n", []string{"0"}},
		{"empty lines", "\n" + good(0) + "\n", []string{"0"}},
		{"only a torn line", good(0)[:10], []string{}},
		{"empty file", "", []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, AuditFile), []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			l, err := OpenAudit(dir, AuditOptions{})
			if err != nil {
				t.Fatalf("OpenAudit: %v", err)
			}
			if got := paths(l.List(100, time.Time{})); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
			appendN(t, l, 7, 8)
			l.Close()
			l, err = OpenAudit(dir, AuditOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			if got := paths(l.List(100, time.Time{})); !reflect.DeepEqual(got, append([]string{"7"}, tt.want...)) {
				t.Errorf("after an append and a reopen: got %q, want 7 then %q", got, tt.want)
			}
		})
	}
}

// TestAuditRotation checks the file is rotated at MaxBytes, one previous
// file kept, and both loaded back.
func TestAuditRotation(t *testing.T) {
	dir := t.TempDir()
	line, _ := json.Marshal(auditEntry(10))
	max := int64(len(line)+1)*4 + 10 // four lines fit, a fifth does not
	l, err := OpenAudit(dir, AuditOptions{MaxBytes: max, Keep: 100})
	if err != nil {
		t.Fatal(err)
	}
	appendN(t, l, 10, 23)
	l.Close()
	for _, name := range []string{AuditFile, AuditFile + ".1"} {
		st, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if st.Size() > max {
			t.Errorf("%s is %d bytes, over %d", name, st.Size(), max)
		}
		if mode := st.Mode().Perm(); mode != 0o600 {
			t.Errorf("%s: mode %o, want 600", name, mode)
		}
	}
	// 13 entries at 4 a file: 10-13, 14-17 (dropped), 18-21 (.1), 22.
	l, err = OpenAudit(dir, AuditOptions{MaxBytes: max, Keep: 100})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if got, want := paths(l.List(100, time.Time{})), []string{"22", "21", "20", "19", "18"}; !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 2 {
		t.Errorf("%d files in the directory, want 2", len(ents))
	}
}

// TestAuditDiskFull checks a failed write is counted, keeps the entry in
// memory, and leaves the file whole.
func TestAuditDiskFull(t *testing.T) {
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	l, err := OpenAudit(dir, AuditOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	appendN(t, l, 0, 1)
	before, _ := os.ReadFile(filepath.Join(dir, AuditFile))
	disktest.Fill(t, filepath.Join(dir, AuditFile))
	err = l.Append(auditEntry(1))
	if err == nil || !strings.Contains(err.Error(), "no space") {
		t.Fatalf("got %v, want ENOSPC", err)
	}
	if n := l.WriteErrors(); n != 1 {
		t.Errorf("WriteErrors %d, want 1", n)
	}
	if got := paths(l.List(10, time.Time{})); !reflect.DeepEqual(got, []string{"1", "0"}) {
		t.Errorf("in memory: got %q", got)
	}
	if after, _ := os.ReadFile(filepath.Join(dir, AuditFile)); !bytes.Equal(after, before) {
		t.Errorf("file changed by the failed write:\n%s", after)
	}
}

// auditLines are lines ParseAuditLine reads or refuses; they seed
// FuzzParseAuditLine.
var auditLines = []struct {
	line string
	ok   bool
}{
	{`{"time":"2026-12-07T09:00:00Z","by":"editor","role":"edit","action":"cache.purge","method":"POST","path":"/v1/cache/purge","status":200,"summary":"purged 3 entries (tags: sale)","remote":"127.0.0.1"}`, true},
	{`{"time":"2026-12-07T09:00:00.123456789Z","by":"viewer","role":"read","action":"import","method":"POST","path":"/v1/import","status":403,"summary":"refused","remote":"::1"}`, true},
	{`{"time":"2026-12-07T09:00:00Z","action":"campaigns.publish","version":"12","future_field":[1,2]}`, true},
	{`{"time":"2026-12-07T09:00:00Z"}`, false},
	{`{"action":"import"}`, false},
	{`{"time":"yesterday","action":"import"}`, false},
	{`{"time":"2026-12-07T09:00:00Z","action":"import","status":"200"}`, false},
	{`[1,2]`, false},
	{`{"time":"2026-12-07T09:00:00Z","action":"imp`, false},
	{``, false},
}

func TestParseAuditLine(t *testing.T) {
	for _, tt := range auditLines {
		_, err := ParseAuditLine([]byte(tt.line))
		if (err == nil) != tt.ok {
			t.Errorf("ParseAuditLine(%q): err %v, want ok %v", tt.line, err, tt.ok)
		}
	}
}

// FuzzParseAuditLine checks the reader never panics, and that what it
// accepts is written back as a line it reads the same.
func FuzzParseAuditLine(f *testing.F) {
	for _, tt := range auditLines {
		f.Add([]byte(tt.line))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		e, err := ParseAuditLine(line)
		if err != nil {
			return
		}
		out, err := json.Marshal(e)
		if err != nil {
			t.Fatalf("%+v does not marshal: %v", e, err)
		}
		again, err := ParseAuditLine(out)
		if err != nil {
			t.Fatalf("%s, written back from %q, is refused: %v", out, line, err)
		}
		if fmt.Sprint(again) != fmt.Sprint(e) {
			t.Errorf("read back as %+v, want %+v", again, e)
		}
	})
}

// TestAuditLastingRing: a stream of data writes does not push the
// configuration changes Lasting picks out of the list, in memory or when
// loaded back, and the two kinds come out merged newest first.
func TestAuditLastingRing(t *testing.T) {
	dir := t.TempDir()
	opts := AuditOptions{Keep: 3, Lasting: func(action string) bool { return strings.HasPrefix(action, "campaigns.") }}
	l, err := OpenAudit(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	publish := func(i int) AuditEntry {
		e := auditEntry(i)
		e.Action, e.Method, e.Path = "campaigns.publish", "PUT", "/v1/campaigns#"+strconv.Itoa(i)
		return e
	}
	if err := l.Append(publish(0)); err != nil {
		t.Fatal(err)
	}
	appendN(t, l, 1, 4)
	if err := l.Append(publish(4)); err != nil {
		t.Fatal(err)
	}
	appendN(t, l, 5, 50)
	want := []string{"49", "48", "47", "/v1/campaigns#4", "/v1/campaigns#0"}
	if got := paths(l.List(100, time.Time{})); !reflect.DeepEqual(got, want) {
		t.Errorf("List = %v, want %v", got, want)
	}
	if got := paths(l.List(2, auditT0.Add(48*time.Second))); !reflect.DeepEqual(got, []string{"47", "/v1/campaigns#4"}) {
		t.Errorf("List before 48 s = %v", got)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	again, err := OpenAudit(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if got := paths(again.List(100, time.Time{})); !reflect.DeepEqual(got, want) {
		t.Errorf("after reopening, List = %v, want %v", got, want)
	}
}

// TestAuditWrittenBeforeSync: Append writes the line at once (a reader of
// the file sees it) and leaves the sync to a timer that Close runs early.
func TestAuditWrittenBeforeSync(t *testing.T) {
	dir := t.TempDir()
	l, err := OpenAudit(dir, AuditOptions{})
	if err != nil {
		t.Fatal(err)
	}
	appendN(t, l, 0, 3)
	data, err := os.ReadFile(filepath.Join(dir, AuditFile))
	if err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(data, []byte("\n")); n != 3 {
		t.Errorf("file has %d lines right after Append, want 3", n)
	}
	l.mu.Lock()
	pending := l.syncing != nil
	l.mu.Unlock()
	if !pending {
		t.Error("no sync scheduled after Append")
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if l.syncing != nil {
		t.Error("Close left a sync scheduled")
	}
	if l.WriteErrors() != 0 {
		t.Errorf("WriteErrors = %d", l.WriteErrors())
	}
}
