package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/marquee-proxy/marquee/config"
	msync "github.com/marquee-proxy/marquee/sync"
)

func runImport(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("import", "[flags] FILE", `
Stream an NDJSON file of profiles or events into marquee: by default to a
running node's admin API (POST /v1/import), or with -offline straight into
the store in -data-dir, which must not be in use by a running node (the
store's lock is taken first).

Profile lines: {"id": "...", "attrs": {...}, "scores": {...}, "consent":
{...}, "purchases": [...]}. Event lines: the events API schema. On a
terminal a progress line shows the count, rate and time left; at the end
a summary, and rejected lines (with their line numbers) go to -rejects.`, stderr)
	af := addAdminFlags(fs, "server")
	offline := fs.Bool("offline", false, "write the store directly instead of calling a node")
	dataDir := fs.String("data-dir", "", "store `directory` for -offline")
	cfgPath := fs.String("config", "", "config `file` whose data_dir, time_zone, events and store settings -offline uses")
	kindName := fs.String("kind", "auto", "what the file holds: `auto`, profiles or events")
	rejects := fs.String("rejects", "", "write rejected lines' numbers and reasons to this `file` (default FILE.rejects)")
	path, flagArgs := splitFileArg(args)
	if code, stop := parseFlags(fs, flagArgs); stop {
		return code
	}
	if path == "" {
		fmt.Fprintln(stderr, "marquee import: name the file to import")
		return 2
	}
	kind, err := msync.ParseImportKind(*kindName)
	if err != nil {
		fmt.Fprintln(stderr, "marquee import:", err)
		return 2
	}
	f, err := os.Open(path)
	if err != nil {
		fmt.Fprintln(stderr, "marquee import:", err)
		return 1
	}
	defer f.Close()
	fi, _ := f.Stat()
	if *rejects == "" {
		*rejects = path + ".rejects"
	}
	rf, err := os.Create(*rejects)
	if err != nil {
		fmt.Fprintln(stderr, "marquee import:", err)
		return 1
	}
	defer rf.Close()
	rw := bufio.NewWriter(rf)
	defer rw.Flush()

	cr := &countingReader{r: f}
	prog := newProgress(stderr, fi.Size(), cr)
	var st msync.ImportStats
	if *offline {
		st, err = importOffline(cr, *dataDir, *cfgPath, kind, rw, prog)
	} else {
		st, err = importOnline(cr, af.url, af.bearer(), kind, rw, prog)
	}
	prog.done()
	if err != nil && st.Imported+st.Rejected+st.Duplicates == 0 {
		fmt.Fprintln(stderr, "marquee import:", err)
		return 1
	}
	fmt.Fprintf(stdout, "imported %d, duplicates %d, rejected %d in %s (%.0f/s)\n",
		st.Imported, st.Duplicates, st.Rejected, st.Elapsed.Round(time.Millisecond), float64(st.Imported+st.Rejected+st.Duplicates)/max(st.Elapsed.Seconds(), 1e-9))
	if st.Rejected > 0 {
		fmt.Fprintf(stdout, "rejected lines: %s\n", *rejects)
	}
	if err != nil {
		fmt.Fprintln(stderr, "marquee import:", err)
		return 1
	}
	return 0
}

// splitFileArg takes the one argument that is not a flag (the file) out of
// args, wherever it is, so that "import FILE -offline" and "import -offline
// FILE" both work.
func splitFileArg(args []string) (string, []string) {
	var rest []string
	path := ""
	for i := 0; i < len(args); i++ {
		a := args[i]
		if strings.HasPrefix(a, "-") {
			rest = append(rest, a)
			if !strings.Contains(a, "=") && i+1 < len(args) && !isBoolFlag(a) {
				rest = append(rest, args[i+1])
				i++
			}
			continue
		}
		if path == "" {
			path = a
			continue
		}
		rest = append(rest, a)
	}
	return path, rest
}

func isBoolFlag(a string) bool {
	a = strings.TrimLeft(a, "-")
	return a == "offline" || a == "h" || a == "help"
}

func importOffline(r io.Reader, dir, cfgPath string, kind msync.ImportKind, rejects io.Writer, prog *progress) (msync.ImportStats, error) {
	opts := msync.Options{}
	if cfgPath != "" {
		cfg, err := config.Load(cfgPath)
		if err != nil {
			return msync.ImportStats{}, err
		}
		if opts, err = storeOptions(cfg); err != nil {
			return msync.ImportStats{}, err
		}
	}
	if dir != "" {
		opts.Dir = dir
	}
	if opts.Dir == "" {
		return msync.ImportStats{}, fmt.Errorf("-offline needs -data-dir (or a config with data_dir)")
	}
	s, err := msync.Open(opts)
	if err != nil {
		return msync.ImportStats{}, err
	}
	st, err := s.Import(r, msync.ImportOptions{
		Kind:     kind,
		Reject:   func(line int, err error) { fmt.Fprintf(rejects, "%d: %v\n", line, err) },
		Progress: func(st msync.ImportStats) { prog.update(st.Imported + st.Rejected + st.Duplicates) },
	})
	if cerr := s.Close(); err == nil {
		err = cerr
	}
	return st, err
}

// importAnswer mirrors the admin API's answer to POST /v1/import.
type importAnswer struct {
	Kind       string `json:"kind"`
	Imported   int    `json:"imported"`
	Duplicates int    `json:"duplicates"`
	Rejected   int    `json:"rejected"`
	Rejects    []struct {
		Line  int `json:"line"`
		Error struct {
			Code    string `json:"code"`
			Field   string `json:"field"`
			Message string `json:"message"`
		} `json:"error"`
	} `json:"rejects"`
	Error *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func importOnline(r *countingReader, server, token string, kind msync.ImportKind, rejects io.Writer, prog *progress) (msync.ImportStats, error) {
	start := time.Now()
	u := strings.TrimRight(server, "/") + "/v1/import?kind=" + url.QueryEscape(kind.String())
	stop := make(chan struct{})
	go func() {
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				prog.update(int(r.lines.Load()))
			}
		}
	}()
	req, err := http.NewRequest("POST", u, r)
	if err != nil {
		close(stop)
		return msync.ImportStats{}, err
	}
	req.Header.Set("Content-Type", "application/x-ndjson")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	close(stop)
	if err != nil {
		return msync.ImportStats{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusUnauthorized {
		return msync.ImportStats{}, unauthorized(token)
	}
	var ans importAnswer
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(&ans); err != nil {
		return msync.ImportStats{}, fmt.Errorf("%s: %s: unreadable answer: %w", u, resp.Status, err)
	}
	st := msync.ImportStats{Imported: ans.Imported, Duplicates: ans.Duplicates, Rejected: ans.Rejected, Elapsed: time.Since(start)}
	for _, rj := range ans.Rejects {
		fmt.Fprintf(rejects, "%d: %s: %s\n", rj.Line, rj.Error.Field, rj.Error.Message)
	}
	if resp.StatusCode != http.StatusOK {
		msg := resp.Status
		if ans.Error != nil {
			msg = ans.Error.Code + ": " + ans.Error.Message
		}
		return st, fmt.Errorf("%s: %s", u, msg)
	}
	return st, nil
}

// countingReader counts the bytes and lines read through it.
type countingReader struct {
	r     io.Reader
	bytes atomic.Int64
	lines atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.bytes.Add(int64(n))
	c.lines.Add(int64(bytes.Count(p[:n], []byte{'\n'})))
	return n, err
}

// progress draws a one-line progress report on a terminal, at most five
// times a second; off a terminal it draws nothing.
type progress struct {
	w     io.Writer
	tty   bool
	total int64
	cr    *countingReader
	start time.Time
	last  time.Time
	drawn bool
}

func newProgress(w io.Writer, total int64, cr *countingReader) *progress {
	tty := false
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			tty = true
		}
	}
	return &progress{w: w, tty: tty, total: total, cr: cr, start: time.Now()}
}

func (p *progress) update(records int) {
	if !p.tty || time.Since(p.last) < 200*time.Millisecond {
		return
	}
	p.last = time.Now()
	p.drawn = true
	el := time.Since(p.start).Seconds()
	rate := float64(records) / max(el, 1e-9)
	eta := "?"
	if done := p.cr.bytes.Load(); done > 0 && p.total > 0 {
		left := el * float64(p.total-done) / float64(done)
		eta = (time.Duration(left) * time.Second).Round(time.Second).String()
	}
	pct := 0.0
	if p.total > 0 {
		pct = 100 * float64(p.cr.bytes.Load()) / float64(p.total)
	}
	fmt.Fprintf(p.w, "\r%5.1f%%  %d records  %.0f/s  ETA %s   ", pct, records, rate, eta)
}

func (p *progress) done() {
	if p.drawn {
		fmt.Fprint(p.w, "\r\033[K")
	}
}
