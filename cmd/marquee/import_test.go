package main

import (
	"bytes"
	"errors"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	msync "github.com/marquee-proxy/marquee/sync"
)

const importFile = `{"id":"u1","attrs":{"tier":"gold"},"scores":{"propensity":0.9}}
{"id":"u2","attrs":{"tier":{"nested":true}}}

{"id":"u3","attrs":{"tier":"basic"}}
`

func TestImportOffline(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "profiles.ndjson")
	os.WriteFile(file, []byte(importFile), 0o600)
	data := filepath.Join(dir, "data")
	var out, errb bytes.Buffer
	if code := run([]string{"import", "-offline", "-data-dir", data, file}, &out, &errb); code != 3 {
		t.Fatalf("exit %d, want 3 (a line rejected): %s %s", code, out.String(), errb.String())
	}
	if !strings.Contains(out.String(), "imported 2,") || !strings.Contains(out.String(), "rejected 1") {
		t.Errorf("summary: %q", out.String())
	}
	rej, _ := os.ReadFile(file + ".rejects")
	if !strings.HasPrefix(string(rej), "2: ") {
		t.Errorf("rejects file: %q, want line 2", rej)
	}
	// A running node holds the lock: offline import refuses.
	s, err := msync.Open(msync.Options{Dir: data})
	if err != nil {
		t.Fatal(err)
	}
	if p, _ := s.Get("u1"); p == nil || p.Attrs["tier"] != "gold" {
		t.Errorf("imported profile: %+v", p)
	}
	if code := run([]string{"import", "-offline", "-data-dir", data, file}, &out, &errb); code == 0 {
		t.Error("offline import into a store in use succeeded")
	}
	s.Close()
}

func TestImportOnline(t *testing.T) {
	n := startTestNode(t, customerOrigin(), "")
	file := filepath.Join(t.TempDir(), "p.ndjson")
	os.WriteFile(file, []byte(importFile), 0o600)
	var out, errb bytes.Buffer
	if code := run([]string{"import", "-admin", n.adminURL(), file}, &out, &errb); code != 3 {
		t.Fatalf("exit %d, want 3 (a line rejected): %s %s", code, out.String(), errb.String())
	}
	if p, _ := n.store.Get("u3"); p == nil || p.Attrs["tier"] != "basic" {
		t.Errorf("imported profile: %+v", p)
	}
	if !strings.Contains(out.String(), "rejected 1") {
		t.Errorf("summary: %q", out.String())
	}
}

// TestImportOutcomes: the exit status says whether every line was applied
// (0), the import could not run (1), the command line was wrong (2) or
// lines were rejected (3); the rejects file exists only when a line was
// rejected, and each of its lines names the field at fault or says the
// line is not JSON. Online (streamed from a node) and offline alike.
func TestImportOutcomes(t *testing.T) {
	n := startTestNode(t, customerOrigin(), "")
	dir := t.TempDir()
	gone := httptest.NewServer(http.NotFoundHandler())
	gone.Close()
	tests := []struct {
		name    string
		body    string // "" for no file at all
		args    []string
		code    int
		rejects string // the whole rejects file; "" for none
	}{
		{"clean", `{"id":"c1"}` + "\n" + `{"id":"c2"}` + "\n", nil, 0, ""},
		{"not JSON and a bad field", `{"id":"c3"}` + "\n" + `{"id": nope` + "\n" + `{"id":"bad id"}` + "\n", nil, 3,
			"2: malformed JSON at byte 9\n3: id: want 1 to 128 characters\n"},
		{"node unreachable", `{"id":"c5"}` + "\n", []string{"-admin", gone.URL}, 1, ""},
		{"no such file", "", nil, 1, ""},
		{"unknown kind", `{"id":"c6"}` + "\n", []string{"-kind", "orders"}, 2, ""},
	}
	for _, mode := range []string{"online", "offline"} {
		for _, tt := range tests {
			if mode == "offline" && tt.name == "node unreachable" {
				continue
			}
			t.Run(mode+"/"+tt.name, func(t *testing.T) {
				file := filepath.Join(dir, mode+"-"+strings.ReplaceAll(tt.name, " ", "-")+".ndjson")
				if tt.body != "" {
					if err := os.WriteFile(file, []byte(tt.body), 0o600); err != nil {
						t.Fatal(err)
					}
				}
				// A rejects file from an earlier run does not describe
				// this one.
				if err := os.WriteFile(file+".rejects", []byte("7: stale\n"), 0o600); err != nil {
					t.Fatal(err)
				}
				args := []string{"import", file}
				if mode == "online" {
					args = append(args, "-admin", n.adminURL())
				} else {
					args = append(args, "-offline", "-data-dir", filepath.Join(dir, "data"))
				}
				code, stdout, stderr := runCLI(append(args, tt.args...)...)
				if code != tt.code {
					t.Errorf("exit %d, want %d; stdout %q, stderr %q", code, tt.code, stdout, stderr)
				}
				rej, err := os.ReadFile(file + ".rejects")
				switch {
				case tt.rejects == "" && tt.code == 0 && !errors.Is(err, fs.ErrNotExist):
					t.Errorf("rejects file %q (%v), want none", rej, err)
				case tt.rejects != "" && !rejectsMatch(string(rej), tt.rejects):
					t.Errorf("rejects file %q, want %q", rej, tt.rejects)
				}
				if strings.Contains(string(rej), ": :") {
					t.Errorf("rejects file %q has a reason without its field", rej)
				}
			})
		}
	}
}

// rejectsMatch reports whether each line of got starts with the line of
// want: the reasons go on with details the test does not pin.
func rejectsMatch(got, want string) bool {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	if len(g) != len(w) {
		return false
	}
	for i := range w {
		if !strings.HasPrefix(g[i], w[i]) {
			return false
		}
	}
	return true
}
