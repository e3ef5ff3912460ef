package admin

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strings"
	stdsync "sync"
	"sync/atomic"
	"time"

	"github.com/marquee-proxy/marquee/internal/apierror"
	"github.com/marquee-proxy/marquee/internal/linecount"

	msync "github.com/marquee-proxy/marquee/sync"
)

// maxImportRejects bounds the rejected lines a JSON import answer lists;
// the counts cover all of them. A streamed answer lists every one.
const maxImportRejects = 1000

// importProgressEvery is how often a streamed import reports progress.
const importProgressEvery = 500 * time.Millisecond

// importIdle is how long an import may go without reading a line before
// the connection's deadlines, which bound a whole request, stop it: an
// import that keeps going may outlast them.
const importIdle = time.Minute

// ndjsonType is the media type of a streamed import answer.
const ndjsonType = "application/x-ndjson"

// importReject is one rejected line of an import.
type importReject struct {
	Line  int             `json:"line"`
	Error *apierror.Error `json:"error"`
}

// importAnswer is the answer to POST /v1/import.
type importAnswer struct {
	msync.ImportStats
	Rejects []importReject `json:"rejects"`
}

// importProgress is a streamed import's running count: Lines is how many
// lines the node has read, the others what it has done with them.
type importProgress struct {
	Lines      int64 `json:"lines"`
	Imported   int   `json:"imported"`
	Duplicates int   `json:"duplicates"`
	Rejected   int   `json:"rejected"`
}

// postImport streams an NDJSON body of profile records or events into the
// store (?kind=profiles|events, default decided by the first line) and
// answers with the counts and the rejected lines. A client that accepts
// application/x-ndjson gets the answer as it goes, one JSON object a
// line: {"progress": …} every half second, {"reject": …} for each
// rejected line, and last the summary (as the JSON answer, without
// rejects) or {"error": …}.
func (a *admin) postImport(w http.ResponseWriter, r *http.Request) error {
	kind, err := msync.ParseImportKind(r.URL.Query().Get("kind"))
	if r.URL.Query().Get("kind") == "" {
		kind, err = msync.ImportAuto, nil
	}
	if err != nil {
		return apierror.Errorf(http.StatusBadRequest, apierror.CodeInvalidField, "kind", "%v", err)
	}
	// Streaming needs full duplex: without it an HTTP/1 server discards
	// up to 256 KiB of a chunked body unread when the answer starts.
	if acceptsNDJSON(r) && http.NewResponseController(w).EnableFullDuplex() == nil {
		a.streamImport(w, r, kind)
		return nil
	}
	ans := importAnswer{Rejects: []importReject{}}
	body := linecount.New(r.Body)
	stop := watchImport(http.NewResponseController(w), body, nil)
	defer stop()
	st, err := a.opts.Store.Import(body, msync.ImportOptions{
		Kind: kind,
		Reject: func(line int, err error) {
			if len(ans.Rejects) < maxImportRejects {
				ans.Rejects = append(ans.Rejects, newImportReject(line, err))
			}
		},
	})
	stop()
	ans.ImportStats = st
	if err != nil {
		return importError(st, err)
	}
	noteOf(r).summary = importSummary(st)
	writeJSON(w, http.StatusOK, ans)
	return nil
}

// streamImport is postImport answering in NDJSON as it goes, on a
// connection in full duplex. The status is sent before the import starts,
// so a failure is the last line, not the status.
func (a *admin) streamImport(w http.ResponseWriter, r *http.Request, kind msync.ImportKind) {
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", ndjsonType)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)

	var mu stdsync.Mutex // one writer at a time: the import and the ticker
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	send := func(v any) {
		mu.Lock()
		defer mu.Unlock()
		buf.Reset()
		_ = enc.Encode(v)
		_, _ = w.Write(buf.Bytes())
		_ = rc.Flush()
	}
	body := linecount.New(r.Body)
	var last atomic.Pointer[msync.ImportStats]
	last.Store(&msync.ImportStats{})
	progress := func() importProgress {
		st := last.Load()
		return importProgress{Lines: body.Lines(), Imported: st.Imported, Duplicates: st.Duplicates, Rejected: st.Rejected}
	}
	stop := watchImport(rc, body, func() {
		send(struct {
			Progress importProgress `json:"progress"`
		}{progress()})
	})
	defer stop()
	st, err := a.opts.Store.Import(body, msync.ImportOptions{
		Kind: kind,
		Reject: func(line int, err error) {
			send(struct {
				Reject importReject `json:"reject"`
			}{newImportReject(line, err)})
		},
		Progress: func(st msync.ImportStats) { last.Store(&st) },
	})
	stop()
	if err != nil {
		status, b := apierror.Encode(importError(st, err))
		// The 200 went out before the import; the audit log records
		// the failure as the status it would have had.
		n := noteOf(r)
		n.summary, n.status = importSummary(st)+", then stopped", status
		mu.Lock()
		_, _ = w.Write(b)
		mu.Unlock()
		return
	}
	noteOf(r).summary = importSummary(st)
	send(st)
}

// importSummary is the audit log's account of an import: counts only.
func importSummary(st msync.ImportStats) string {
	note := fmt.Sprintf("import of %s: %d imported, %d rejected", st.Kind, st.Imported, st.Rejected)
	if st.Duplicates > 0 {
		note += fmt.Sprintf(", %d duplicates", st.Duplicates)
	}
	return note
}

// newImportReject describes a rejected line; a problem of the line as a
// whole (not JSON) has no field.
func newImportReject(line int, err error) importReject {
	var ferr *msync.FieldError
	if errors.As(err, &ferr) {
		return importReject{Line: line, Error: fieldAPIError(ferr)}
	}
	return importReject{Line: line, Error: &apierror.Error{Code: apierror.CodeInvalidField, Message: err.Error()}}
}

// importError is the API error for an import that stopped after st.
func importError(st msync.ImportStats, err error) error {
	if errors.Is(err, msync.ErrItemTooLarge) {
		return apierror.Errorf(http.StatusRequestEntityTooLarge, apierror.CodeTooLarge, "", "%v", err)
	}
	if errors.Is(err, msync.ErrClosed) {
		return err
	}
	return apierror.Errorf(http.StatusBadRequest, apierror.CodeInvalidJSON, "", "after %d records: %v", st.Imported+st.Rejected, err)
}

// acceptsNDJSON reports whether the request's Accept names the streamed
// answer's type.
func acceptsNDJSON(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		if t, _, err := mime.ParseMediaType(strings.TrimSpace(part)); err == nil && t == ndjsonType {
			return true
		}
	}
	return false
}

// watchImport calls tick (when not nil) every importProgressEvery, and
// extends the connection's deadlines while body keeps being read, until
// the returned function is called; once it returns, tick is not running.
// Calling it again does nothing, so that a deferred call also covers a
// panic in the import.
func watchImport(rc *http.ResponseController, body *linecount.Reader, tick func()) (stop func()) {
	done := make(chan struct{})
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		t := time.NewTicker(importProgressEvery)
		defer t.Stop()
		seen := int64(-1)
		for {
			select {
			case <-done:
				return
			case <-t.C:
				if n := body.Bytes(); n != seen {
					seen = n
					extendDeadlines(rc)
				}
				if tick != nil {
					tick()
				}
			}
		}
	}()
	var once stdsync.Once
	return func() { once.Do(func() { close(done); <-exited }) }
}

// extendDeadlines moves the connection's deadlines importIdle ahead. A
// server without deadlines, or a writer that cannot set them, is left as
// it is.
func extendDeadlines(rc *http.ResponseController) {
	at := time.Now().Add(importIdle)
	_ = rc.SetReadDeadline(at)
	_ = rc.SetWriteDeadline(at)
}
