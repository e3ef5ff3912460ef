package opstate

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// DefaultLimit is how many versions a History keeps when Options.Limit is
// zero: enough to roll back through weeks of routine changes, small enough
// that data_dir stays a few megabytes for documents of tens of kilobytes.
const DefaultLimit = 100

// Dir is the directory, inside data_dir, that holds the history.
const Dir = "campaigns"

// Who applied a version: Entry.By.
const (
	ByAPI      = "api"
	ByFile     = "file"
	BySIGHUP   = "sighup"
	ByCluster  = "cluster"
	ByRollback = "rollback"
)

// ErrStale is returned by Put for a version not newer than the current
// one: history only moves forward, so that every node that saw the same
// versions holds the same history.
var ErrStale = errors.New("opstate: version not newer than the current one")

// Entry describes one applied version of the decisions document.
type Entry struct {
	// Version is the hybrid-logical-clock reading the document was applied
	// at. It is a string in JSON, since JavaScript numbers cannot hold 64
	// bits.
	Version uint64 `json:"version,string"`
	// Time is when the version was applied, on the node that applied it.
	Time time.Time `json:"time"`
	// By says who applied it: ByAPI (or an admin token's name), ByFile,
	// BySIGHUP, ByCluster or ByRollback.
	By string `json:"by"`
	// Segments and Campaigns count the document's segments and campaigns,
	// to tell versions apart at a glance.
	Segments  int `json:"segments"`
	Campaigns int `json:"campaigns"`
	// Hash is the hex SHA-256 of the document, to tell equal documents.
	Hash string `json:"hash"`
}

// Options configures a History. The zero value works.
type Options struct {
	// Limit is how many versions to keep; zero means DefaultLimit.
	Limit int
	// Logger receives a warning per stored version that cannot be read.
	// Nil discards.
	Logger *slog.Logger
}

// History is the versioned record of a node's decisions documents. It is
// safe for concurrent use.
type History struct {
	dir   string // "" keeps everything in memory
	limit int
	log   *slog.Logger

	mu      sync.Mutex
	entries []Entry           // oldest first
	docs    map[uint64][]byte // in memory only; with dir, just the current one
	file    fileSeen
}

// fileSeen is what the node last read from its config file.
type fileSeen struct {
	Hash string    `json:"hash"`
	At   time.Time `json:"at"`
}

// stored is the content of one version's file.
type stored struct {
	Entry Entry  `json:"entry"`
	Doc   string `json:"doc"`
}

const fileSeenName = "file-seen.json"

// Open loads the history kept in dir/campaigns, creating the directory
// (mode 0700) when needed. An empty dir keeps the history in memory for
// the life of the process. Version files that cannot be read or whose
// content does not match their hash are skipped with a warning: a damaged
// old version must not keep a node from starting.
func Open(dir string, opts Options) (*History, error) {
	h := &History{limit: opts.Limit, log: opts.Logger, docs: map[uint64][]byte{}}
	if h.limit <= 0 {
		h.limit = DefaultLimit
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	if dir == "" {
		return h, nil
	}
	h.dir = filepath.Join(dir, Dir)
	if err := os.MkdirAll(h.dir, 0o700); err != nil {
		return nil, fmt.Errorf("opstate: %w", err)
	}
	names, err := os.ReadDir(h.dir)
	if err != nil {
		return nil, fmt.Errorf("opstate: %w", err)
	}
	for _, de := range names {
		name := de.Name()
		if name == fileSeenName {
			if b, err := os.ReadFile(filepath.Join(h.dir, name)); err == nil {
				if err := json.Unmarshal(b, &h.file); err != nil {
					h.log.Warn("opstate: ignoring unreadable record of the config file", "file", name, "err", err)
				}
			}
			continue
		}
		v, ok := versionOfName(name)
		if !ok {
			continue
		}
		e, _, err := h.load(v)
		if err != nil {
			h.log.Warn("opstate: skipping unreadable campaigns version", "file", name, "err", err)
			continue
		}
		h.entries = append(h.entries, e)
	}
	slices.SortFunc(h.entries, func(a, b Entry) int {
		switch {
		case a.Version < b.Version:
			return -1
		case a.Version > b.Version:
			return 1
		}
		return 0
	})
	if n := len(h.entries); n > 0 {
		_, doc, err := h.load(h.entries[n-1].Version)
		if err != nil {
			return nil, err
		}
		h.docs[h.entries[n-1].Version] = doc
	}
	return h, nil
}

func nameOf(v uint64) string { return fmt.Sprintf("%020d.json", v) }

func versionOfName(name string) (uint64, bool) {
	s, ok := strings.CutSuffix(name, ".json")
	if !ok || len(s) != 20 {
		return 0, false
	}
	v, err := strconv.ParseUint(s, 10, 64)
	return v, err == nil
}

// load reads and checks one version's file.
func (h *History) load(v uint64) (Entry, []byte, error) {
	b, err := os.ReadFile(filepath.Join(h.dir, nameOf(v)))
	if err != nil {
		return Entry{}, nil, err
	}
	var s stored
	if err := json.Unmarshal(b, &s); err != nil {
		return Entry{}, nil, err
	}
	doc := []byte(s.Doc)
	switch {
	case s.Entry.Version != v:
		return Entry{}, nil, fmt.Errorf("holds version %d", s.Entry.Version)
	case s.Entry.Hash != Hash(doc):
		return Entry{}, nil, errors.New("document does not match its hash")
	}
	return s.Entry, doc, nil
}

// Hash is the content hash Entry.Hash holds.
func Hash(doc []byte) string {
	sum := sha256.Sum256(doc)
	return hex.EncodeToString(sum[:])
}

// Current returns the newest version and its document; ok is false while
// the history is empty.
func (h *History) Current() (e Entry, doc []byte, ok bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.currentLocked()
}

func (h *History) currentLocked() (Entry, []byte, bool) {
	if len(h.entries) == 0 {
		return Entry{}, nil, false
	}
	e := h.entries[len(h.entries)-1]
	return e, h.docs[e.Version], true
}

// Put records doc as the new current version e (whose Hash it sets) and
// returns the entry. e.Version must be newer than the current version
// (ErrStale otherwise). Versions beyond the limit are removed, oldest
// first. With a directory the version is on disk when Put returns.
func (h *History) Put(e Entry, doc []byte) (Entry, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.putLocked(e, doc)
}

func (h *History) putLocked(e Entry, doc []byte) (Entry, error) {
	if !utf8.Valid(doc) {
		return Entry{}, errors.New("opstate: document is not UTF-8 text")
	}
	doc = slices.Clone(doc)
	e.Hash = Hash(doc)
	e.Time = e.Time.UTC()
	if cur, _, ok := h.currentLocked(); ok && e.Version <= cur.Version {
		return Entry{}, fmt.Errorf("%w: %d, current %d", ErrStale, e.Version, cur.Version)
	}
	if h.dir != "" {
		b, err := json.Marshal(stored{Entry: e, Doc: string(doc)})
		if err != nil {
			return Entry{}, err
		}
		if err := WriteFile(filepath.Join(h.dir, nameOf(e.Version)), b); err != nil {
			return Entry{}, fmt.Errorf("opstate: saving version %d: %w", e.Version, err)
		}
		if cur, _, ok := h.currentLocked(); ok {
			delete(h.docs, cur.Version) // on disk; only the current stays in memory
		}
	}
	h.entries = append(h.entries, e)
	h.docs[e.Version] = doc
	for len(h.entries) > h.limit {
		old := h.entries[0].Version
		h.entries = h.entries[1:]
		delete(h.docs, old)
		if h.dir != "" {
			if err := os.Remove(filepath.Join(h.dir, nameOf(old))); err != nil && !errors.Is(err, os.ErrNotExist) {
				h.log.Warn("opstate: removing an old campaigns version", "version", old, "err", err)
			}
		}
	}
	return e, nil
}

// List returns the kept versions, newest first.
func (h *History) List() []Entry {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := slices.Clone(h.entries)
	slices.Reverse(out)
	return out
}

// Get returns one kept version and its document; ok is false when the
// version is not (or no longer) kept.
func (h *History) Get(version uint64) (e Entry, doc []byte, ok bool, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	i := slices.IndexFunc(h.entries, func(e Entry) bool { return e.Version == version })
	if i < 0 {
		return Entry{}, nil, false, nil
	}
	if doc, ok := h.docs[version]; ok {
		return h.entries[i], slices.Clone(doc), true, nil
	}
	e, doc, err = h.load(version)
	if err != nil {
		return Entry{}, nil, false, fmt.Errorf("opstate: reading version %d: %w", version, err)
	}
	return e, doc, true, nil
}

// FileSeen returns the hash of the config file's decisions as the node
// last read them, and when; "" before the first record.
func (h *History) FileSeen() (hash string, at time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.file.Hash, h.file.At
}

// SawFile records that the node has read doc from its config file at at
// (at start or on SIGHUP), so that the next start can tell whether an
// operator changed the file since.
func (h *History) SawFile(doc []byte, at time.Time) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.sawFileLocked(doc, at)
}

func (h *History) sawFileLocked(doc []byte, at time.Time) error {
	fs := fileSeen{Hash: Hash(doc), At: at.UTC()}
	if h.dir != "" {
		b, _ := json.Marshal(fs)
		if err := WriteFile(filepath.Join(h.dir, fileSeenName), b); err != nil {
			return fmt.Errorf("opstate: %w", err)
		}
	}
	h.file = fs
	return nil
}

// Choice is what Start decided a starting node serves.
type Choice struct {
	// Entry and Doc are the version to serve.
	Entry Entry
	Doc   []byte
	// FromFile reports whether the config file's document was taken.
	FromFile bool
	// Reason says why, for the start-up log.
	Reason string
}

// Start decides what a starting node serves: the stored current version or
// file, the decisions document of the config file (with e's By, Time,
// Segments and Campaigns describing it). The file wins when the history is
// empty, or when the file's decisions differ from the ones recorded by the
// last SawFile: an operator who edits the file and restarts gets the file.
// Otherwise the stored version wins, since it was applied after the file
// was last read. A file taken on an empty history is recorded as version
// 0, below every version another node can hold, so that a new node joining
// a fleet takes the fleet's document rather than overriding it; a changed
// file is recorded at e.Version, which the caller takes from its clock
// after observing the stored versions. Start records the file as seen.
func (h *History) Start(file []byte, e Entry) (Choice, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	fileHash := Hash(file)
	cur, doc, ok := h.currentLocked()
	var c Choice
	switch {
	case !ok:
		e.Version = 0
		c.FromFile, c.Reason = true, "no stored version"
	case h.file.Hash != "" && h.file.Hash != fileHash && cur.Hash != fileHash:
		c.FromFile = true
		c.Reason = fmt.Sprintf("the config file's decisions changed since the node last read them at %s: the operator's edit wins over stored version %d (by %s at %s)",
			h.file.At.Format(time.RFC3339), cur.Version, cur.By, cur.Time.Format(time.RFC3339))
	case cur.Hash == fileHash:
		c.Entry, c.Doc = cur, doc
		c.Reason = fmt.Sprintf("stored version %d (by %s at %s) is the config file's document", cur.Version, cur.By, cur.Time.Format(time.RFC3339))
	case h.file.Hash == "":
		c.Entry, c.Doc = cur, doc
		c.Reason = fmt.Sprintf("stored version %d (by %s at %s) is kept: there is no record of the config file to tell an edit by", cur.Version, cur.By, cur.Time.Format(time.RFC3339))
	default:
		c.Entry, c.Doc = cur, doc
		c.Reason = fmt.Sprintf("the config file's decisions are unchanged since it was last read at %s, and stored version %d (by %s at %s) was applied since",
			h.file.At.Format(time.RFC3339), cur.Version, cur.By, cur.Time.Format(time.RFC3339))
	}
	if c.FromFile {
		if ok && e.Version <= cur.Version {
			return Choice{}, fmt.Errorf("%w: %d, current %d", ErrStale, e.Version, cur.Version)
		}
		entry, err := h.putLocked(e, file)
		if err != nil {
			return Choice{}, err
		}
		c.Entry, c.Doc = entry, slices.Clone(file)
	}
	if err := h.sawFileLocked(file, e.Time); err != nil {
		return Choice{}, err
	}
	return c, nil
}
