package admin

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	stdsync "sync"
	"time"

	"github.com/marquee-proxy/marquee/internal/apierror"
	"github.com/marquee-proxy/marquee/opstate"
)

// Actions of the audit log: one per route an edit token is needed for.
const (
	actionProfilePut        = "profile.put"
	actionProfilePatch      = "profile.patch"
	actionProfileDelete     = "profile.delete"
	actionEvents            = "events.post"
	actionImport            = "import"
	actionCampaignsPublish  = "campaigns.publish"
	actionCampaignsRollback = "campaigns.rollback"
	actionCachePurge        = "cache.purge"
)

// Bounds of GET /v1/audit.
const (
	defaultAuditLimit = 100
	maxAuditLimit     = 1000
)

// AuditLog is where the admin API records every call to a route that
// needs an edit token, answered or refused. Both methods may be called
// concurrently. Append is called once per such call, before its answer
// is sent, and may block on a disk write; a failure to record is the
// log's to report (log, count), since the call it records stands.
type AuditLog interface {
	// Append records e.
	Append(e opstate.AuditEntry) error
	// List returns up to limit entries older than before (all when before
	// is zero), newest first.
	List(limit int, before time.Time) []opstate.AuditEntry
}

// auditNote is what an edit route's handler tells the audit log about a
// call it carried out.
type auditNote struct {
	// summary says what the call did, with names and counts, never values
	// from the request body.
	summary string
	// version is the campaigns history version the call created.
	version string
	// status, when not zero, is the outcome to record instead of the
	// status sent, for an answer streamed before its outcome was known.
	status int
}

type noteKey struct{}

// noteOf returns the note of r's audit entry, or a throwaway one when r
// is not audited.
func noteOf(r *http.Request) *auditNote {
	if n, ok := r.Context().Value(noteKey{}).(*auditNote); ok {
		return n
	}
	return &auditNote{}
}

// statusWriter remembers the status a handler answers with.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// audited is call for an edit route: the call is recorded in the audit
// log whatever its outcome, a refusal or a panic included.
func (a *admin) audited(g guarded, c Caller, w http.ResponseWriter, r *http.Request) {
	sw := &statusWriter{ResponseWriter: w}
	note := &auditNote{}
	r = r.WithContext(context.WithValue(r.Context(), noteKey{}, note))
	e := opstate.AuditEntry{By: c.Name, Role: c.Role.String(), Action: g.action, Method: r.Method, Path: r.URL.Path, Remote: remoteHost(r.RemoteAddr)}
	var err error
	defer func() {
		v := recover()
		if v != nil {
			sw.status, err = http.StatusInternalServerError, errPanicked
		}
		e.Time, e.Status = time.Now(), sw.status
		if e.Status == 0 {
			e.Status = http.StatusOK
		}
		e.Summary, e.Version = note.summary, note.version
		if note.status != 0 {
			e.Status = note.status
		}
		if err != nil {
			e.Summary, e.Version = failureSummary(err), ""
		} else if e.Summary == "" {
			e.Summary = "done"
		}
		if isForbidden(err) {
			n := a.refusals.allow(c.Name+" "+g.action, e.Time)
			if n < 0 {
				return
			}
			if n > 0 {
				e.Summary += fmt.Sprintf(" (and %d more such refusals in the minute before)", n)
			}
		}
		// Append reports its own failures: the call has been carried out.
		_ = a.audit.Append(e)
		if v != nil {
			panic(v)
		}
	}()
	err = a.call(g, c, sw, r)
}

var errPanicked = errors.New("admin: handler panicked")

// isForbidden reports whether err is a role's refusal.
func isForbidden(err error) bool {
	var ae *apierror.Error
	return errors.As(err, &ae) && ae.Code == apierror.CodeForbidden
}

// refusalWindow is how often the audit log records a read token's
// refusals on one route: once a minute, with a count of the others, so
// that a read token (or a script misconfigured with one) cannot flood the
// log and push real writes out of it.
const refusalWindow = time.Minute

// refusals rate-limits the audit entries of refused calls per caller and
// action. Callers are configured tokens and actions a fixed set, so the
// map stays small.
type refusals struct {
	mu   stdsync.Mutex
	seen map[string]*refusalCount
}

type refusalCount struct {
	last       time.Time // when the last recorded refusal was
	suppressed int       // refusals since, not recorded
}

// allow reports whether the refusal of key at now is recorded: -1 when it
// is not, else how many were left unrecorded before it.
func (rs *refusals) allow(key string, now time.Time) int {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if rs.seen == nil {
		rs.seen = map[string]*refusalCount{}
	}
	c := rs.seen[key]
	if c == nil {
		rs.seen[key] = &refusalCount{last: now}
		return 0
	}
	if now.Sub(c.last) < refusalWindow {
		c.suppressed++
		return -1
	}
	n := c.suppressed
	c.last, c.suppressed = now, 0
	return n
}

// LastingAction reports whether an audit log action changes what the
// fleet serves (campaigns, cache purges), which opstate.AuditOptions'
// Lasting keeps apart from the stream of data writes.
func LastingAction(action string) bool {
	switch action {
	case actionCampaignsPublish, actionCampaignsRollback, actionCachePurge:
		return true
	}
	return false
}

// failureSummary says why a call failed, by its error code and field:
// messages may quote values from the request body, which the audit log
// does not keep.
func failureSummary(err error) string {
	var ae *apierror.Error
	switch {
	case isForbidden(err):
		return "refused: the token's role is read"
	case errors.As(err, &ae) && ae.Field != "":
		return "failed: " + ae.Code + " (" + ae.Field + ")"
	case errors.As(err, &ae):
		return "failed: " + ae.Code
	}
	status, _ := apierror.Encode(err)
	if status == http.StatusInsufficientStorage {
		return "failed: " + apierror.CodeInsufficientStorage
	}
	return "failed: " + apierror.CodeInternal
}

// remoteHost is the client's address without its port.
func remoteHost(addr string) string {
	if host, _, err := net.SplitHostPort(addr); err == nil {
		return host
	}
	return addr
}

// getAudit answers GET /v1/audit?limit=N&before=RFC3339: this node's
// audit entries older than before, newest first.
func (a *admin) getAudit(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	limit := defaultAuditLimit
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxAuditLimit {
			return apierror.Errorf(http.StatusBadRequest, apierror.CodeInvalidField, "limit", "want a number from 1 to %d", maxAuditLimit)
		}
		limit = n
	}
	var before time.Time
	if s := q.Get("before"); s != "" {
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return apierror.Errorf(http.StatusBadRequest, apierror.CodeInvalidField, "before", "want an RFC 3339 time, e.g. 2026-12-07T06:00:00Z")
		}
		before = t
	}
	writeJSON(w, http.StatusOK, map[string]any{"entries": a.audit.List(limit, before)})
	return nil
}

// Bounds of a summary's lists of names, so that a purge of a thousand
// URLs makes one short line.
const maxSummaryNames = 5

// plural is n and the noun, made plural unless n is 1.
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	if strings.HasSuffix(noun, "y") {
		noun = strings.TrimSuffix(noun, "y") + "ie"
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

// nameList is up to maxSummaryNames of names, and how many more.
func nameList(names []string) string {
	if len(names) <= maxSummaryNames {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(names[:maxSummaryNames], ", "), len(names)-maxSummaryNames)
}
