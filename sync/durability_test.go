package sync

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/marquee-proxy/marquee/profile"
)

const childDirEnv = "MARQUEE_SYNC_KILL_CHILD_DIR"

// killChild runs in the re-executed test binary: it writes profiles and
// prints "ack N" after each write is acknowledged, until killed.
func killChild(dir string) {
	s, err := Open(Options{Dir: dir, Sync: SyncNever})
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(1)
	}
	w := bufio.NewWriter(os.Stdout)
	for i := 0; i < 1_000_000; i++ {
		id := "p" + strconv.Itoa(i)
		if _, err := s.Update(id, func(p *profile.Profile) error { p.Attrs = map[string]any{"n": float64(i)}; return nil }); err != nil {
			fmt.Println("update:", err)
			os.Exit(1)
		}
		fmt.Fprintf(w, "ack %d\n", i)
		w.Flush()
	}
	os.Exit(0)
}

func TestMain(m *testing.M) {
	if dir := os.Getenv(childDirEnv); dir != "" {
		killChild(dir)
	}
	os.Exit(m.Run())
}

// A process killed with SIGKILL in the middle of a stream of writes loses
// none it acknowledged.
func TestSIGKILLKeepsAcknowledgedWrites(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childDirEnv+"="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acked := -1
	sc := bufio.NewScanner(out)
	deadline := time.Now().Add(10 * time.Second)
	for sc.Scan() && time.Now().Before(deadline) {
		line := sc.Text()
		n, err := strconv.Atoi(strings.TrimPrefix(line, "ack "))
		if err != nil {
			t.Fatalf("child: %s", line)
		}
		acked = n
		if acked >= 500 {
			break
		}
	}
	cmd.Process.Kill() // SIGKILL: no deferred cleanup, no flush
	cmd.Wait()
	if acked < 0 {
		t.Fatal("child acknowledged nothing")
	}
	s, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatalf("reopen after SIGKILL: %v", err)
	}
	defer s.Close()
	for i := 0; i <= acked; i++ {
		p, err := s.Get("p" + strconv.Itoa(i))
		if err != nil || p == nil || p.Attrs["n"] != float64(i) {
			t.Fatalf("acknowledged write %d of %d missing after SIGKILL: %+v, %v", i, acked, p, err)
		}
	}
}

// A store file cut off in the middle of its last record opens with every
// complete record, and takes writes again.
func TestTornTail(t *testing.T) {
	for _, cut := range []int{1, 7, 40} {
		t.Run(strconv.Itoa(cut), func(t *testing.T) {
			dir := t.TempDir()
			s, err := Open(Options{Dir: dir})
			if err != nil {
				t.Fatal(err)
			}
			const n = 50
			for i := range n {
				s.Update("p"+strconv.Itoa(i), func(p *profile.Profile) error { p.Attrs = map[string]any{"n": float64(i)}; return nil })
			}
			s.Close()
			path := filepath.Join(dir, "profiles.db")
			fi, _ := os.Stat(path)
			if err := os.Truncate(path, fi.Size()-int64(cut)); err != nil {
				t.Fatal(err)
			}
			s, err = Open(Options{Dir: dir})
			if err != nil {
				t.Fatalf("open with a torn tail: %v", err)
			}
			defer s.Close()
			for i := range n - 1 {
				if p, _ := s.Get("p" + strconv.Itoa(i)); p == nil {
					t.Fatalf("complete record %d lost", i)
				}
			}
			if p, _ := s.Get("p" + strconv.Itoa(n-1)); p != nil {
				t.Errorf("torn record came back: %+v", p)
			}
			if _, err := s.Update("after", func(p *profile.Profile) error { return nil }); err != nil {
				t.Fatalf("write after repair: %v", err)
			}
		})
	}
}

func TestBackgroundShrink(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(Options{Dir: dir, Shrink: ShrinkOptions{Ratio: 1.5, MinSize: 1, Interval: 5 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := range 2000 {
		s.Update("same", func(p *profile.Profile) error { p.Sessions = i; return nil })
	}
	path := filepath.Join(dir, "profiles.db")
	grown := fileSize(path)
	deadline := time.Now().Add(5 * time.Second)
	for fileSize(path) >= grown {
		if time.Now().After(deadline) {
			t.Fatalf("file not compacted: %d bytes, grown to %d", fileSize(path), grown)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if p, _ := s.Get("same"); p == nil || p.Sessions != 1999 {
		t.Errorf("after compaction: %+v", p)
	}
	// Shrink on demand leaves one record's worth.
	if n, err := s.Shrink(); err != nil || n > 4096 {
		t.Errorf("Shrink: %d bytes, %v", n, err)
	}
}

// A Shrink asked for while another compaction runs waits for it instead
// of failing with buntdb's "shrink is in-process".
func TestConcurrentShrink(t *testing.T) {
	s, err := Open(Options{Dir: t.TempDir(), Shrink: ShrinkOptions{Ratio: -1}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := range 5000 {
		s.Update("p"+strconv.Itoa(i%500), func(p *profile.Profile) error { p.Sessions = i; return nil })
	}
	errs := make(chan error, 8)
	for range cap(errs) {
		go func() {
			_, err := s.Shrink()
			errs <- err
		}()
	}
	for range cap(errs) {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

func TestShouldShrink(t *testing.T) {
	o := ShrinkOptions{Ratio: 2, MinSize: 100}
	tests := []struct {
		size, base int64
		want       bool
	}{{50, 10, false}, {150, 100, false}, {250, 100, true}, {250, 0, true}}
	for _, tt := range tests {
		if got := shouldShrink(tt.size, tt.base, o); got != tt.want {
			t.Errorf("shouldShrink(%d, %d): got %v, want %v", tt.size, tt.base, got, tt.want)
		}
	}
}

func TestSyncPolicyNames(t *testing.T) {
	for _, p := range []SyncPolicy{SyncEverySecond, SyncAlways, SyncNever} {
		got, err := ParseSyncPolicy(p.String())
		if err != nil || got != p {
			t.Errorf("round trip of %v: %v, %v", p, got, err)
		}
		if _, err := Open(Options{Dir: t.TempDir(), Sync: p}); err != nil {
			t.Errorf("open with %v: %v", p, err)
		}
	}
	if SyncPolicy(9).String() != "invalid" {
		t.Error("String of an unknown policy")
	}
}
