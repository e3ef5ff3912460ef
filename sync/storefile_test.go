package sync

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/marquee-proxy/marquee/profile"
	"github.com/tidwall/buntdb"
)

// writeStoreFile builds a store file in a new directory the way a node
// does: profiles, an event batch (with its expiring dedup keys), an
// erasure. It returns the directory and the ids of the profiles kept.
func writeStoreFile(t testing.TB) (string, []string) {
	t.Helper()
	dir := t.TempDir()
	now := time.Now()
	s, err := Open(Options{Dir: dir, Node: "n1"})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for i := range 12 {
		id := fmt.Sprintf("visitor-%02d", i)
		ids = append(ids, id)
		if _, err := s.Update(id, func(p *profile.Profile) error {
			p.Attrs = map[string]any{"tier": "gold", "n": fmt.Sprint(i)}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	evs := []Event{view("ev-1", "visitor-03", "shoes", now), view("ev-2", "visitor-04", "hats", now)}
	for _, r := range s.ApplyEvents(evs) {
		if r.Err != nil {
			t.Fatal(r.Err)
		}
	}
	if _, err := s.Update("erased", func(p *profile.Profile) error { p.Attrs = map[string]any{"a": "b"}; return nil }); err != nil {
		t.Fatal(err)
	}
	if err := s.Erase("erased"); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return dir, ids
}

// recordAt is the offset of the last record that sets key, and its length.
func recordAt(t *testing.T, data []byte, key string) (int, int) {
	t.Helper()
	at := bytes.LastIndex(data, fmt.Appendf(nil, "$3\r\nset\r\n$%d\r\n%s\r\n", len(key), key))
	if at < 0 {
		t.Fatalf("no record sets %q", key)
	}
	start := bytes.LastIndex(data[:at], []byte("*")) // "*3\r\n" or "*5\r\n"
	end := bytes.Index(data[at:], []byte("\r\n*"))
	if end < 0 {
		end = len(data) - at
	} else {
		end += 2
	}
	return start, at + end - start
}

// Every way one bad byte can break a record: the error names its offset
// and key, check lists it, and repair keeps every other profile.
func TestStoreFileDamage(t *testing.T) {
	victim := "visitor-05"
	key := keyPrefix + victim
	tests := []struct {
		name    string
		corrupt func(data []byte, rec, n int) []byte
		reason  string
		withKey bool // the damage names the record's key
	}{
		{"count line", func(d []byte, rec, _ int) []byte { d[rec+1] = 'x'; return d }, "record header", false},
		{"argument length", func(d []byte, rec, _ int) []byte {
			at := rec + bytes.Index(d[rec:], []byte("$"+fmt.Sprint(len(key))))
			d[at+1] = 'q'
			return d
		}, "argument 2 header", false},
		{"value longer than declared", func(d []byte, rec, n int) []byte {
			// The value's length grows by one digit's worth: the record's
			// CRLF is not where the length says.
			at := rec + bytes.LastIndex(d[rec:rec+n], []byte("\r\n$")) + 3
			d[at]++
			return d
		}, "not followed by CRLF", true},
		{"length past the end", func(d []byte, rec, n int) []byte {
			at := rec + bytes.LastIndex(d[rec:rec+n], []byte("\r\n$")) + 3
			end := at + bytes.Index(d[at:], []byte("\r\n"))
			return slices.Concat(d[:at], []byte("99999999"), d[end:])
		}, "past the end of the file; valid records follow", true},
		{"lost CR", func(d []byte, rec, n int) []byte { d[rec+n-2] = 'Z'; return d }, "not followed by CRLF", true},
		{"unknown command", func(d []byte, rec, _ int) []byte {
			at := rec + bytes.Index(d[rec:], []byte("set"))
			copy(d[at:], "sex")
			return d
		}, `unknown command "sex"`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, ids := writeStoreFile(t)
			path := filepath.Join(dir, storeFile)
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			rec, n := recordAt(t, data, key)
			bad := tt.corrupt(slices.Clone(data), rec, n)
			if err := os.WriteFile(path, bad, 0o600); err != nil {
				t.Fatal(err)
			}

			_, err = Open(Options{Dir: dir})
			if !errors.Is(err, ErrDamaged) {
				t.Fatalf("Open: got %v, want ErrDamaged", err)
			}
			for _, want := range []string{fmt.Sprintf("byte %d:", rec), tt.reason, "marquee store repair -data-dir " + dir} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("Open error %q does not say %q", err, want)
				}
			}
			if tt.withKey && !strings.Contains(err.Error(), fmt.Sprintf("%q", key)) {
				t.Errorf("Open error %q does not name key %q", err, key)
			}

			rep, err := CheckDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			if rep.DamageCount != 1 || rep.Damage[0].Offset != int64(rec) {
				t.Fatalf("CheckDir: %+v, want one damaged stretch at %d", rep, rec)
			}

			res, err := Repair(dir, t0)
			if err != nil {
				t.Fatalf("Repair: %v", err)
			}
			if aside, _ := os.ReadFile(res.MovedTo); !bytes.Equal(aside, bad) {
				t.Errorf("the file moved aside (%s) is not the original", res.MovedTo)
			}
			if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != dataFileMode {
				t.Errorf("repaired file: %v, %v; want mode %v", fi, err, dataFileMode)
			}
			s, err := Open(Options{Dir: dir})
			if err != nil {
				t.Fatalf("Open after repair: %v", err)
			}
			defer s.Close()
			for i, id := range ids {
				p, err := s.Get(id)
				switch {
				case err != nil:
					t.Fatal(err)
				case id == victim:
					// Its earlier, valid writes may remain; never a mangled one.
					if p != nil && p.Attrs["n"] != "5" {
						t.Errorf("%s: got %+v", id, p.Attrs)
					}
				case p == nil || p.Attrs["n"] != fmt.Sprint(i):
					t.Errorf("%s lost by repair: %+v", id, p)
				}
			}
			if p, _ := s.Get("erased"); p != nil {
				t.Error("an erased profile came back")
			}
			if !s.ErasedAt("erased").After(time.Time{}) {
				t.Error("the erasure's tombstone was not kept")
			}
		})
	}
}

// buntdb alone reads a length that runs past the end of the file as a torn
// write and truncates the file there, with every record after it; Open
// refuses instead and the file keeps every byte.
func TestStoreFileNoSilentTruncation(t *testing.T) {
	dir, _ := writeStoreFile(t)
	path := filepath.Join(dir, storeFile)
	data, _ := os.ReadFile(path)
	rec, _ := recordAt(t, data, keyPrefix+"visitor-01")
	bad := slices.Clone(data)
	at := rec + bytes.Index(bad[rec:], []byte("$3\r\nset"))
	copy(bad[at:], "$9")
	bad = slices.Insert(bad, at+2, []byte("9999999")...)
	os.WriteFile(path, bad, 0o600)

	if _, err := Open(Options{Dir: dir}); !errors.Is(err, ErrDamaged) {
		t.Fatalf("Open: %v, want ErrDamaged", err)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(after, bad) {
		t.Fatalf("Open changed the file: %d bytes, was %d", len(after), len(bad))
	}

	// What Open guards against.
	cp := filepath.Join(t.TempDir(), "copy.db")
	os.WriteFile(cp, bad, 0o600)
	db, err := buntdb.Open(cp)
	if err != nil {
		t.Fatalf("buntdb: %v", err)
	}
	db.Close()
	if fi, _ := os.Stat(cp); fi.Size() != int64(rec) {
		t.Errorf("buntdb kept %d of %d bytes; the hazard is truncation at %d", fi.Size(), len(bad), rec)
	}
}

// A write cut off by a crash opens with every complete record, logged with
// its offset; check reports it and repair drops it.
func TestStoreFileTornTail(t *testing.T) {
	dir, ids := writeStoreFile(t)
	path := filepath.Join(dir, storeFile)
	data, _ := os.ReadFile(path)
	extra := appendRESP(nil, "set", keyPrefix+"late", `{"attrs":{"x":"y"}}`)
	torn := append(slices.Clone(data), extra[:len(extra)-7]...)
	os.WriteFile(path, torn, 0o600)

	rep, err := CheckDir(dir)
	if err != nil || !(rep.TornTail == int64(len(extra)-7) && rep.DamageCount == 0) {
		t.Fatalf("CheckDir: %+v, %v", rep, err)
	}
	var logs bytes.Buffer
	s, err := Open(Options{Dir: dir, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("offset=%d", len(data)); !strings.Contains(logs.String(), want) {
		t.Errorf("log %q does not say %s", logs.String(), want)
	}
	for _, id := range ids {
		if p, _ := s.Get(id); p == nil {
			t.Errorf("%s lost", id)
		}
	}
	s.Close()
}

// Profile records whose value does not decode are listed by id and left
// out by repair; a clean file is left alone.
func TestStoreFileUndecodableAndClean(t *testing.T) {
	dir, _ := writeStoreFile(t)
	path := filepath.Join(dir, storeFile)

	res, err := Repair(dir, t0)
	if err != nil || res.MovedTo != "" || !res.Report.Clean() || res.Report.Profiles != 12 {
		t.Fatalf("Repair of a clean file: %+v, %v", res, err)
	}

	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.Write(appendRESP(nil, "set", keyPrefix+"mangled", `{"attrs":{"x":`))
	f.Close()
	rep, err := CheckDir(dir)
	if err != nil || rep.Undecodable != 1 || !slices.Equal(rep.UndecodableIDs, []string{"mangled"}) || rep.DamageCount != 0 {
		t.Fatalf("CheckDir: %+v, %v", rep, err)
	}
	res, err = Repair(dir, t0)
	if err != nil || res.MovedTo == "" || res.Kept != rep.Keys-1 {
		t.Fatalf("Repair: %+v, %v (keys %d)", res, err, rep.Keys)
	}
	if rep, _ := CheckDir(dir); !rep.Clean() || rep.Profiles != 12 {
		t.Fatalf("after repair: %+v", rep)
	}
}

// Repair will not rewrite a file a node has open.
func TestRepairRefusesInUse(t *testing.T) {
	dir, _ := writeStoreFile(t)
	s, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := Repair(dir, t0); !errors.Is(err, ErrLocked) {
		t.Fatalf("Repair: %v, want ErrLocked", err)
	}
}

// FuzzStoreFile: any file content is checked without a panic or a hang;
// a file the check finds clean is one buntdb loads, and what repair would
// write from it is clean and loads too.
func FuzzStoreFile(f *testing.F) {
	dir, _ := writeStoreFile(f)
	data, err := os.ReadFile(filepath.Join(dir, storeFile))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	f.Add(data[:len(data)/2])
	f.Add([]byte("*3\r\n$3\r\nset\r\n$3\r\np:a\r\n$2\r\n{}\r\n"))
	f.Add([]byte("\x00\x00*2\r\n$3\r\ndel\r\n$1\r\nk\r\n*0\r\n*1\r\n$7\r\nflushdb\r\n"))
	f.Add([]byte("*5\r\n$3\r\nset\r\n$3\r\ne:1\r\n$0\r\n\r\n$2\r\nae\r\n$10\r\n4102444800\r\n"))
	f.Add([]byte("*3\r\n$3\r\nset\r\n$99999999999\r\n"))
	tmp := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(tmp, "in.db")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		rep, keys, err := scanFile(path, true)
		if err != nil {
			t.Fatal(err)
		}
		if rep.DamageCount == 0 && rep.TornTail == 0 {
			loads(t, path)
		}
		out := filepath.Join(tmp, "out.db")
		os.Remove(out)
		if err := writeFileSynced(out, func(w io.Writer) error { return writeRecords(w, keys) }); err != nil {
			t.Fatal(err)
		}
		if rep, _, err := scanFile(out, true); err != nil || !rep.Clean() || rep.Keys != len(keys) {
			t.Fatalf("repaired form: %+v, %v; want clean with %d keys", rep, err, len(keys))
		}
		loads(t, out)
	})
}

func loads(t *testing.T, path string) {
	t.Helper()
	db, err := buntdb.Open(path)
	if err != nil {
		t.Fatalf("buntdb: %v", err)
	}
	db.Close()
}
