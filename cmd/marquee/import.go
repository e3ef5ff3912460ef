package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/marquee-proxy/marquee/config"
	"github.com/marquee-proxy/marquee/internal/linecount"
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
terminal a progress line shows how far the node (or the store) has got:
the share of the file done, lines applied and rejected, rate and time
left. At the end a summary; rejected lines, each with its number and
reason, go to -rejects, a file written only when a line is rejected.

Exit status: 0 every line applied; 1 the import could not run or stopped
(file, network, server or store error); 2 bad usage; 3 the import ran to
the end but rejected lines.`, stderr)
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
	rw := &rejectsFile{path: *rejects}

	cr := linecount.New(f)
	prog := newProgress(stderr, fi.Size(), cr)
	var st msync.ImportStats
	if *offline {
		st, err = importOffline(cr, *dataDir, *cfgPath, kind, rw, prog)
	} else {
		st, err = importOnline(cr, af.url, af.bearer(), kind, rw, prog)
	}
	prog.done()
	if cerr := rw.close(); err == nil && cerr != nil {
		err = fmt.Errorf("rejects file: %w", cerr)
	}
	if err != nil && st.Imported+st.Rejected+st.Duplicates == 0 {
		fmt.Fprintln(stderr, "marquee import:", err)
		return 1
	}
	fmt.Fprintf(stdout, "imported %d, duplicates %d, rejected %d in %s (%.0f/s)\n",
		st.Imported, st.Duplicates, st.Rejected, st.Elapsed.Round(time.Millisecond), float64(st.Imported+st.Rejected+st.Duplicates)/max(st.Elapsed.Seconds(), 1e-9))
	if rw.n > 0 {
		fmt.Fprintf(stdout, "rejected lines: %s\n", *rejects)
	}
	switch {
	case err != nil:
		fmt.Fprintln(stderr, "marquee import:", err)
		return 1
	case st.Rejected > 0:
		return 3
	}
	return 0
}

// rejectsFile is the rejects file, created at the first rejected line so
// that a clean import leaves none; a file an earlier import left there is
// removed, as it does not describe this one.
type rejectsFile struct {
	path string
	f    *os.File
	w    *bufio.Writer
	err  error
	n    int // lines written
}

// reject writes one rejected line: its number, the field at fault when
// there is one, and the reason.
func (r *rejectsFile) reject(line int, field, reason string) {
	if r.err != nil {
		return
	}
	if r.f == nil {
		if r.f, r.err = os.Create(r.path); r.err != nil {
			return
		}
		r.w = bufio.NewWriter(r.f)
	}
	r.n++
	if field != "" {
		_, r.err = fmt.Fprintf(r.w, "%d: %s: %s\n", line, field, reason)
	} else {
		_, r.err = fmt.Fprintf(r.w, "%d: %s\n", line, reason)
	}
}

// close flushes and closes the file, or removes an earlier one when no
// line was rejected.
func (r *rejectsFile) close() error {
	if r.f == nil {
		if r.err != nil {
			return r.err
		}
		if err := os.Remove(r.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return nil
	}
	if err := r.w.Flush(); r.err == nil {
		r.err = err
	}
	if err := r.f.Close(); r.err == nil {
		r.err = err
	}
	return r.err
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

func importOffline(r io.Reader, dir, cfgPath string, kind msync.ImportKind, rejects *rejectsFile, prog *progress) (msync.ImportStats, error) {
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
		Kind: kind,
		Reject: func(line int, err error) {
			var ferr *msync.FieldError
			if errors.As(err, &ferr) {
				rejects.reject(line, ferr.Field, ferr.Reason)
			} else {
				rejects.reject(line, "", err.Error())
			}
		},
		Progress: func(st msync.ImportStats) {
			// The store reads the file as it imports it: what it has
			// read is what it has done.
			prog.update(st.Imported+st.Duplicates, st.Rejected, prog.sent())
		},
	})
	if cerr := s.Close(); err == nil {
		err = cerr
	}
	return st, err
}

// importAnswer mirrors the admin API's answer to POST /v1/import, and
// each line of its streamed form: a progress report, a rejected line, an
// error, or the final counts.
type importAnswer struct {
	Kind       string       `json:"kind"`
	Imported   int          `json:"imported"`
	Duplicates int          `json:"duplicates"`
	Rejected   int          `json:"rejected"`
	Rejects    []importLine `json:"rejects"`
	Progress   *struct {
		Lines      int64 `json:"lines"`
		Imported   int   `json:"imported"`
		Duplicates int   `json:"duplicates"`
		Rejected   int   `json:"rejected"`
	} `json:"progress"`
	Reject *importLine `json:"reject"`
	Error  *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// importLine is a rejected line as the admin API reports it.
type importLine struct {
	Line  int `json:"line"`
	Error struct {
		Code    string `json:"code"`
		Field   string `json:"field"`
		Message string `json:"message"`
	} `json:"error"`
}

// maxImportAnswerLine bounds one line of a streamed import answer.
const maxImportAnswerLine = 1 << 20

func importOnline(r *linecount.Reader, server, token string, kind msync.ImportKind, rejects *rejectsFile, prog *progress) (msync.ImportStats, error) {
	start := time.Now()
	u := strings.TrimRight(server, "/") + "/v1/import?kind=" + url.QueryEscape(kind.String())
	// Until the node's first progress report, and with a node that does
	// not stream its answer, the upload is all there is to show.
	var applied, rejected atomic.Int64
	streamed := atomic.Bool{}
	stop := make(chan struct{})
	drawn := make(chan struct{})
	go func() {
		defer close(drawn)
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				if streamed.Load() {
					prog.update(int(applied.Load()), int(rejected.Load()), prog.sent()*prog.serverShare(applied.Load()+rejected.Load()))
				} else {
					prog.update(int(r.Lines()), -1, prog.sent())
				}
			}
		}
	}()
	defer func() { close(stop); <-drawn }()
	req, err := http.NewRequest("POST", u, r)
	if err != nil {
		return msync.ImportStats{}, err
	}
	req.Header.Set("Content-Type", "application/x-ndjson")
	req.Header.Set("Accept", "application/x-ndjson, application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return msync.ImportStats{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusUnauthorized {
		return msync.ImportStats{}, unauthorized(token)
	}
	failed := func(ans *importAnswer) error {
		msg := resp.Status
		if ans.Error != nil {
			msg = ans.Error.Code + ": " + ans.Error.Message
		}
		return fmt.Errorf("%s: %s", u, msg)
	}
	reject := func(rj importLine) { rejects.reject(rj.Line, rj.Error.Field, rj.Error.Message) }
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != "application/x-ndjson" {
		var ans importAnswer
		if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(&ans); err != nil {
			return msync.ImportStats{}, fmt.Errorf("%s: %s: unreadable answer: %w", u, resp.Status, err)
		}
		st := msync.ImportStats{Imported: ans.Imported, Duplicates: ans.Duplicates, Rejected: ans.Rejected, Elapsed: time.Since(start)}
		for _, rj := range ans.Rejects {
			reject(rj)
		}
		if resp.StatusCode != http.StatusOK {
			return st, failed(&ans)
		}
		return st, nil
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), maxImportAnswerLine)
	var st msync.ImportStats
	for sc.Scan() {
		var ans importAnswer
		if err := json.Unmarshal(sc.Bytes(), &ans); err != nil {
			return st, fmt.Errorf("%s: unreadable answer line %q: %w", u, sc.Bytes(), err)
		}
		st.Elapsed = time.Since(start)
		switch {
		case ans.Progress != nil:
			p := ans.Progress
			st.Imported, st.Duplicates, st.Rejected = p.Imported, p.Duplicates, p.Rejected
			applied.Store(int64(p.Imported + p.Duplicates))
			rejected.Store(int64(p.Rejected))
			streamed.Store(true)
		case ans.Reject != nil:
			reject(*ans.Reject)
		case ans.Error != nil:
			return st, failed(&ans)
		default:
			st.Imported, st.Duplicates, st.Rejected = ans.Imported, ans.Duplicates, ans.Rejected
			return st, nil
		}
	}
	if err := sc.Err(); err != nil {
		return st, fmt.Errorf("%s: reading the answer: %w", u, err)
	}
	return st, fmt.Errorf("%s: the answer ended before the import did", u)
}

// progress draws a one-line progress report on a terminal, at most five
// times a second; off a terminal it draws nothing.
type progress struct {
	w     io.Writer
	tty   bool
	total int64
	cr    *linecount.Reader
	start time.Time
	last  time.Time
	drawn bool
}

func newProgress(w io.Writer, total int64, cr *linecount.Reader) *progress {
	return &progress{w: w, tty: isTerminal(w), total: total, cr: cr, start: time.Now()}
}

// sent returns the share of the file read so far, from 0 to 1; 0 when its
// size is unknown.
func (p *progress) sent() float64 {
	if p.total <= 0 {
		return 0
	}
	return min(1, float64(p.cr.Bytes())/float64(p.total))
}

// serverShare returns the share of the lines sent that the node has
// applied or rejected: the file read so far times this share is how much
// of the file it has done, though what is in flight still counts as sent.
func (p *progress) serverShare(done int64) float64 {
	sent := p.cr.Lines()
	if sent <= 0 {
		return 0
	}
	return min(1, float64(done)/float64(sent))
}

// update draws the line: applied records (sent, before the node reports),
// rejected ones (-1 when not known yet), and the share of the file done.
func (p *progress) update(applied, rejected int, frac float64) {
	if !p.tty || time.Since(p.last) < 200*time.Millisecond {
		return
	}
	p.last = time.Now()
	p.drawn = true
	el := time.Since(p.start).Seconds()
	rate := float64(applied+max(rejected, 0)) / max(el, 1e-9)
	eta := "?"
	if frac > 0 {
		eta = (time.Duration(el*(1-frac)/frac) * time.Second).Round(time.Second).String()
	}
	if rejected < 0 {
		fmt.Fprintf(p.w, "\r%5.1f%%  %d sent  %.0f/s  ETA %s   ", 100*frac, applied, rate, eta)
		return
	}
	fmt.Fprintf(p.w, "\r%5.1f%%  %d applied  %d rejected  %.0f/s  ETA %s   ", 100*frac, applied, rejected, rate, eta)
}

func (p *progress) done() {
	if p.drawn {
		fmt.Fprint(p.w, "\r\033[K")
	}
}
