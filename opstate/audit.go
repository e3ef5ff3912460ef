package opstate

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/marquee-proxy/marquee/internal/durable"
)

// AuditFile is the audit log's name inside data_dir; after a rotation the
// previous file is AuditFile+".1".
const AuditFile = "audit.log"

// Defaults of AuditOptions.
const (
	// DefaultAuditKeep is how many entries an Audit holds in memory and
	// loads at start: enough for weeks of operator writes.
	DefaultAuditKeep = 1000
	// DefaultAuditMaxBytes is the size past which the file is rotated:
	// tens of thousands of entries, and a bounded share of data_dir.
	DefaultAuditMaxBytes = 8 << 20
)

// AuditEntry is one write call to the admin API, as the audit log records
// it. It holds no request body and no secret: names, counts and ids only.
type AuditEntry struct {
	// Time is when the call was answered, in UTC.
	Time time.Time `json:"time"`
	// By is the name of the caller's token ("anonymous" without tokens).
	By string `json:"by"`
	// Role is the caller token's role, "read" or "edit".
	Role string `json:"role"`
	// Action names the call, e.g. "campaigns.publish".
	Action string `json:"action"`
	// Method and Path are the request's, without the query.
	Method string `json:"method"`
	Path   string `json:"path"`
	// Status is the HTTP status answered.
	Status int `json:"status"`
	// Summary says what the call did (or why it failed), for people.
	Summary string `json:"summary"`
	// Version is the campaigns history version the call created, if any.
	Version string `json:"version,omitempty"`
	// Remote is the client's address.
	Remote string `json:"remote"`
}

// AuditOptions configures an Audit. The zero value works.
type AuditOptions struct {
	// Keep is how many entries are held in memory and loaded at start;
	// zero means DefaultAuditKeep.
	Keep int
	// MaxBytes is the size past which the file is renamed to
	// AuditFile+".1" (replacing the one before) and a new one started;
	// zero means DefaultAuditMaxBytes.
	MaxBytes int64
	// Logger receives a warning per entry that cannot be written or read.
	// Nil discards.
	Logger *slog.Logger
	// Lasting reports the actions whose entries are held in memory in a
	// ring of their own, Keep entries long, so that a stream of other
	// writes (events from an integration, say) does not push configuration
	// changes out of the list. Nil: one ring for every entry.
	Lasting func(action string) bool
}

// auditSyncDelay bounds how long an appended entry may wait in the page
// cache before it is synced: one sync a second, however many writes,
// rather than one per write call, the cost store.sync every_second takes
// for profiles too.
const auditSyncDelay = time.Second

// Audit is a node's audit log: the last entries in memory and, with a
// directory, every entry appended to AuditFile as one JSON line, written
// before Append returns and synced within a second. It is safe for
// concurrent use.
type Audit struct {
	path     string // "" keeps entries in memory only
	keep     int
	maxBytes int64
	log      *slog.Logger
	lasting  func(string) bool
	failures atomic.Uint64

	mu      sync.Mutex
	rings   [2]ring  // other entries, and those lasting picks
	f       *os.File // nil in memory, or after Close
	size    int64
	syncing *time.Timer // a sync is due; nil when the file is synced
}

// ring holds the last entries of one kind, oldest at entries[start].
type ring struct {
	entries []AuditEntry
	start   int
}

func (r *ring) push(e AuditEntry, keep int) {
	if len(r.entries) < keep {
		r.entries = append(r.entries, e)
		return
	}
	r.entries[r.start] = e
	r.start = (r.start + 1) % len(r.entries)
}

// at is the i-th oldest entry.
func (r *ring) at(i int) AuditEntry { return r.entries[(r.start+i)%len(r.entries)] }

// OpenAudit loads the audit log kept in dir (the previous file, then the
// current one) and opens the current one for appending, creating dir
// (mode 0700) and the file (mode 0600) when needed. An empty dir keeps the
// log in memory for the life of the process. Lines that cannot be read
// are skipped with a warning, and a torn last line, left by a crash in the
// middle of a write, is cut off so that the next entry starts a line of
// its own: a damaged log must not keep a node from starting.
func OpenAudit(dir string, opts AuditOptions) (*Audit, error) {
	l := &Audit{keep: opts.Keep, maxBytes: opts.MaxBytes, log: opts.Logger, lasting: opts.Lasting}
	if l.keep <= 0 {
		l.keep = DefaultAuditKeep
	}
	if l.maxBytes <= 0 {
		l.maxBytes = DefaultAuditMaxBytes
	}
	if l.log == nil {
		l.log = slog.New(slog.DiscardHandler)
	}
	if dir == "" {
		return l, nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("opstate: audit: %w", err)
	}
	l.path = filepath.Join(dir, AuditFile)
	if err := l.load(l.path + ".1"); err != nil {
		return nil, err
	}
	if err := l.load(l.path); err != nil {
		return nil, err
	}
	f, err := openAppend(l.path)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("opstate: audit: %w", err)
	}
	l.f, l.size = f, st.Size()
	return l, nil
}

// openAppend opens the file at path for appending, with mode 0600.
func openAppend(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opstate: audit: %w", err)
	}
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return nil, fmt.Errorf("opstate: audit: %w", err)
	}
	return f, nil
}

// load adds the entries of the file at path to the ring, and cuts a torn
// last line off it.
func (l *Audit) load(path string) error {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("opstate: audit: %w", err)
	}
	if end := bytes.LastIndexByte(data, '\n') + 1; end < len(data) {
		l.log.Warn("opstate: cutting a torn last line off the audit log", "file", path, "bytes", len(data)-end)
		if err := os.Truncate(path, int64(end)); err != nil {
			return fmt.Errorf("opstate: audit: %w", err)
		}
		data = data[:end]
	}
	for n := 1; len(data) > 0; n++ {
		var line []byte
		line, data, _ = bytes.Cut(data, []byte("\n"))
		e, err := ParseAuditLine(line)
		if err != nil {
			l.log.Warn("opstate: skipping an unreadable audit log line", "file", path, "line", n, "err", err)
			continue
		}
		l.pushLocked(e)
	}
	return nil
}

// ParseAuditLine reads one line of the audit log file (without its
// newline). It refuses what is not an entry: a line that is not a JSON
// object, or one without a time or an action.
func ParseAuditLine(line []byte) (AuditEntry, error) {
	var e AuditEntry
	if err := json.Unmarshal(line, &e); err != nil {
		return AuditEntry{}, fmt.Errorf("opstate: audit line: %w", err)
	}
	if e.Time.IsZero() || e.Action == "" {
		return AuditEntry{}, errors.New("opstate: audit line: no time or action")
	}
	return e, nil
}

func (l *Audit) pushLocked(e AuditEntry) {
	r := &l.rings[0]
	if l.lasting != nil && l.lasting(e.Action) {
		r = &l.rings[1]
	}
	r.push(e, l.keep)
}

// Append records e, its time made UTC. The entry is kept in memory
// whatever happens; an error means it did not reach the file (a full
// disk, say), and is logged and counted in WriteErrors, so that the caller
// need not fail the call it records.
func (l *Audit) Append(e AuditEntry) error {
	e.Time = e.Time.UTC()
	line, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("opstate: audit: %w", err)
	}
	line = append(line, '\n')
	l.mu.Lock()
	defer l.mu.Unlock()
	l.pushLocked(e)
	if l.f == nil {
		return nil
	}
	if err := l.writeLocked(line); err != nil {
		l.failures.Add(1)
		l.log.Warn("opstate: audit entry not written", "action", e.Action, "err", err)
		return fmt.Errorf("opstate: audit: %w", err)
	}
	return nil
}

// writeLocked appends line to the file, rotating it first when line
// would take it past maxBytes, and has it synced within auditSyncDelay.
// A failed write is cut off again, so that the next one does not
// continue a half line.
func (l *Audit) writeLocked(line []byte) error {
	if l.size > 0 && l.size+int64(len(line)) > l.maxBytes {
		if err := l.rotateLocked(); err != nil {
			l.log.Warn("opstate: audit log not rotated; appending to it still", "err", err)
		}
	}
	n, err := l.f.Write(line)
	if err != nil {
		if n > 0 {
			l.f.Truncate(l.size)
		}
		return err
	}
	l.size += int64(n)
	if l.syncing == nil {
		l.syncing = time.AfterFunc(auditSyncDelay, l.sync)
	}
	return nil
}

// sync syncs the file, which Append left to it.
func (l *Audit) sync() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.syncLocked()
}

func (l *Audit) syncLocked() {
	if l.syncing == nil || l.f == nil {
		return
	}
	l.syncing.Stop()
	l.syncing = nil
	if err := l.f.Sync(); err != nil {
		l.failures.Add(1)
		l.log.Warn("opstate: audit log not synced", "err", err)
	}
}

// rotateLocked renames the file to AuditFile+".1", replacing the previous
// one, and starts a new one.
func (l *Audit) rotateLocked() error {
	if err := os.Rename(l.path, l.path+".1"); err != nil {
		return err
	}
	f, err := openAppend(l.path)
	if err != nil {
		// Back to the name the old descriptor was opened under, so that
		// the next rotation tries again; the previous ".1" is gone.
		if rerr := os.Rename(l.path+".1", l.path); rerr != nil {
			return errors.Join(err, rerr)
		}
		return err
	}
	l.syncLocked()
	l.f.Close()
	l.f, l.size = f, 0
	return durable.SyncDir(filepath.Dir(l.path))
}

// List returns up to limit entries older than before (all of them when
// before is zero), newest first, from both rings.
func (l *Audit) List(limit int, before time.Time) []AuditEntry {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := []AuditEntry{}
	i, j := len(l.rings[0].entries)-1, len(l.rings[1].entries)-1
	for len(out) < limit && (i >= 0 || j >= 0) {
		var e AuditEntry
		if j < 0 || i >= 0 && !l.rings[0].at(i).Time.Before(l.rings[1].at(j).Time) {
			e, i = l.rings[0].at(i), i-1
		} else {
			e, j = l.rings[1].at(j), j-1
		}
		if before.IsZero() || e.Time.Before(before) {
			out = append(out, e)
		}
	}
	return out
}

// WriteErrors is how many entries did not reach the file since Open.
func (l *Audit) WriteErrors() uint64 { return l.failures.Load() }

// Close closes the file. Entries appended afterwards are kept in memory
// only. It may be called more than once.
func (l *Audit) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	l.syncLocked()
	err := l.f.Close()
	l.f = nil
	return err
}
