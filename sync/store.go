package sync

import (
	"cmp"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"os"
	"path/filepath"
	stdsync "sync"
	"sync/atomic"
	"time"

	"github.com/marquee-proxy/marquee/internal/boundedmap"
	"github.com/marquee-proxy/marquee/profile"
	"github.com/tidwall/buntdb"
)

// Errors returned by the store.
var (
	// ErrNotFound is returned for an id with no profile.
	ErrNotFound = errors.New("sync: profile not found")
	// ErrClosed is returned by a store after Close.
	ErrClosed = errors.New("sync: store closed")
	// ErrInvalidID is returned for an empty or oversized id.
	ErrInvalidID = errors.New("sync: invalid profile id")
	// ErrNoChange, returned by an Update function, ends the update without
	// writing: the profile stays as it was, and Update returns it with no
	// error.
	ErrNoChange = errors.New("sync: no change")
)

// MaxIDLen bounds a profile id.
const MaxIDLen = 128

// keyPrefix namespaces profile records in the database, leaving room for
// other record kinds.
const keyPrefix = "p:"

// Options configures a Store. The zero value is an in-memory store.
type Options struct {
	// Dir holds the store file. Empty: in memory, lost on Close.
	Dir string
	// Node names this node in the versions it writes. Default
	// DefaultNode ("local").
	Node string
	// CacheEntries bounds the decoded-profile cache. Default
	// DefaultCacheEntries (1<<18): a
	// decoded profile costs about 1 KiB beside its ~250 bytes in the
	// database, so caching a million would double the memory of a node
	// with a million profiles (measured: 1.5 GiB with all decoded, 340 MiB
	// with none). A miss decodes from the database, about 5 µs.
	CacheEntries int
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Events are the bounds and normalisation of events. The zero value
	// applies EventRules' defaults.
	Events EventRules
	// Sync is when the store file is fsynced. The zero value is
	// SyncEverySecond.
	Sync SyncPolicy
	// Shrink compacts the store file in the background. The zero value
	// applies ShrinkOptions' defaults; it has no effect in memory.
	Shrink ShrinkOptions
	// DigestBuckets is the bucket count of the digest the store keeps up
	// to date on every write, so that Digest with that count reads no
	// profile (see Digest). Zero means DefaultDigestBuckets; negative
	// keeps none, and every Digest then reads the whole store.
	DigestBuckets int
	// NoLock skips the exclusive lock on Dir. Only for tests that open one
	// directory twice on purpose.
	NoLock bool
	// OnChange, when set, is called once per profile after a local change
	// (Update, Delete, events, Link, Erase) commits; not for MergeRemote,
	// MergeTombstone or bulk imports, which reach other nodes by
	// anti-entropy. It runs on the writer's goroutine with the profile's
	// lock held, so changes of one id arrive in commit order: it must not
	// block and must not call back into the Store. The Change's Profile is
	// a shared snapshot: do not modify it.
	OnChange func(c Change)
	// Logger receives one warning per id whose stored record cannot be
	// decoded (see Store.Undecodable). Nil discards.
	Logger *slog.Logger
}

// maxUndecodableLogged bounds the ids remembered so that an undecodable
// record is logged once, not on every read of it.
const maxUndecodableLogged = 4096

// Store holds profiles in buntdb, with a cache of decoded snapshots in
// front so that a lookup on the request path decodes nothing. It is safe
// for concurrent use.
type Store struct {
	db    *buntdb.DB
	node  string
	clock *Clock
	cache *cache
	locks [256]stdsync.Mutex
	seed  maphash.Seed
	rules EventRules
	now   func() time.Time
	path  string
	flock *fileLock
	stop  chan struct{}
	done  chan struct{}
	once  stdsync.Once
	// shrinkMu serialises compactions: buntdb refuses a second one while
	// one runs, and a Shrink asked for during a background compaction
	// should wait for it rather than fail.
	shrinkMu stdsync.Mutex
	chunk    int // keys per read transaction of a scan
	live     *liveDigest

	products atomic.Pointer[func() Products]
	unknown  atomic.Uint64
	onChange atomic.Pointer[func(c Change)]

	log         *slog.Logger
	undecoded   atomic.Uint64
	undecLogged *boundedmap.Map[string, struct{}]
}

// Open opens the store described by opts.
func Open(opts Options) (*Store, error) {
	path := ":memory:"
	var fl *fileLock
	if opts.Dir != "" {
		if err := os.MkdirAll(opts.Dir, 0o700); err != nil {
			return nil, fmt.Errorf("sync: create %s: %w", opts.Dir, err)
		}
		if !opts.NoLock {
			var err error
			if fl, err = lockDir(opts.Dir); err != nil {
				return nil, err
			}
		}
		// A file cut off mid-record (a torn write at power loss) opens
		// with every complete record: buntdb truncates the partial tail.
		path = filepath.Join(opts.Dir, storeFile)
		if err := prepareDataFile(path); err != nil {
			fl.release()
			return nil, fmt.Errorf("sync: open %s: %w", path, err)
		}
	}
	if err := checkBeforeOpen(path, opts.Dir, opts.Logger); err != nil {
		fl.release()
		return nil, err
	}
	db, err := buntdb.Open(path)
	if err != nil {
		fl.release()
		if errors.Is(err, buntdb.ErrInvalid) {
			err = fmt.Errorf("%w; %s", err, repairHint(opts.Dir))
		}
		return nil, fmt.Errorf("sync: open %s: %w", path, err)
	}
	if err := configure(db, opts.Sync); err != nil {
		db.Close()
		fl.release()
		return nil, err
	}
	node := opts.Node
	if node == "" {
		node = DefaultNode
	}
	entries := opts.CacheEntries
	if entries <= 0 {
		entries = DefaultCacheEntries
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	s := &Store{
		db: db, node: node, clock: NewClock(opts.Now), cache: newCache(entries), seed: maphash.MakeSeed(),
		rules: opts.Events.withDefaults(), now: now, path: path, flock: fl,
		stop: make(chan struct{}), done: make(chan struct{}), chunk: scanChunk,
		log: opts.Logger, undecLogged: boundedmap.NewString[struct{}](maxUndecodableLogged),
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.SetOnChange(opts.OnChange)
	if err := db.CreateIndex(tombstoneIndex, tombstonePrefix+"*", buntdb.IndexUint); err != nil {
		db.Close()
		fl.release()
		return nil, fmt.Errorf("sync: index tombstones: %w", err)
	}
	if n := cmp.Or(opts.DigestBuckets, DefaultDigestBuckets); n > 0 {
		// Before Open returns nothing writes, so this scan and the deltas
		// of later writes add up to the store exactly.
		d, err := s.scanDigest(n, 0)
		if err != nil {
			db.Close()
			fl.release()
			return nil, err
		}
		s.live = &liveDigest{n: n, b: d}
	}
	if opts.Dir != "" {
		go s.shrinkLoop(opts.Shrink.withDefaults())
	} else {
		close(s.done)
	}
	return s, nil
}

// Close stops background work and closes the store. It is safe to call
// more than once.
func (s *Store) Close() error {
	s.once.Do(func() { close(s.stop) })
	<-s.done
	err := s.db.Close()
	s.flock.release()
	if errors.Is(err, buntdb.ErrDatabaseClosed) {
		return nil
	}
	return err
}

// UnknownProducts counts the events applied about products the catalog
// in force (see SetProducts) does not have.
func (s *Store) UnknownProducts() uint64 { return s.unknown.Load() }

// Undecodable counts the reads that found a stored profile record that
// cannot be decoded (corrupt JSON, a dangling node index). Such a record
// is treated as absent: reads see no profile, and the next write of its id
// (PUT, an event, a merged copy from another node) replaces it, or an
// erasure removes it.
func (s *Store) Undecodable() uint64 { return s.undecoded.Load() }

// decodeRecord decodes id's stored record; an undecodable one is counted,
// logged once per id, and read as no profile.
func (s *Store) decodeRecord(id, raw string) *profile.Profile {
	p, err := unmarshalProfile([]byte(raw))
	if err == nil {
		return p
	}
	s.undecoded.Add(1)
	if s.undecLogged.PutIfAbsent(id, struct{}{}) {
		s.log.Warn("sync: undecodable profile record treated as absent; the next write of this id replaces it",
			"id", id, "bytes", len(raw), "err", err)
	}
	return nil
}

// Rules returns the event rules in force, defaults filled in.
func (s *Store) Rules() EventRules { return s.rules }

// Clock returns the store's version clock.
func (s *Store) Clock() *Clock { return s.clock }

// Get returns the snapshot of the profile with id, or nil when there is
// none. The snapshot is shared: do not modify it.
func (s *Store) Get(id string) (*profile.Profile, error) {
	if p, ok := s.cache.get(id); ok {
		return p, nil
	}
	return s.load(id)
}

// GetBytes is Get for an id held in a byte slice; it does not allocate on a
// cache hit. id is not retained.
func (s *Store) GetBytes(id []byte) (*profile.Profile, error) {
	if p, ok := s.cache.getBytes(id); ok {
		return p, nil
	}
	return s.load(string(id))
}

// load reads id from the database into the cache. It takes the id's lock so
// that a snapshot read before a concurrent write cannot land in the cache
// after that write's.
func (s *Store) load(id string) (*profile.Profile, error) {
	mu := s.lock(id)
	mu.Lock()
	defer mu.Unlock()
	if p, ok := s.cache.get(id); ok {
		return p, nil
	}
	return s.loadLocked(id)
}

func (s *Store) lock(id string) *stdsync.Mutex { return &s.locks[s.stripe(id)] }

func (s *Store) stripe(id string) int { return int(maphash.String(s.seed, id) % uint64(len(s.locks))) }

func (s *Store) loadLocked(id string) (*profile.Profile, error) {
	var raw string
	err := s.db.View(func(tx *buntdb.Tx) error {
		v, err := tx.Get(keyPrefix + id)
		raw = v
		return err
	})
	switch {
	case errors.Is(err, buntdb.ErrNotFound):
		s.cache.put(id, nil)
		return nil, nil
	case errors.Is(err, buntdb.ErrTxClosed), errors.Is(err, buntdb.ErrDatabaseClosed):
		return nil, ErrClosed
	case err != nil:
		return nil, fmt.Errorf("sync: get %q: %w", id, err)
	}
	p := s.decodeRecord(id, raw)
	s.cache.put(id, p)
	return p, nil
}

// Update applies fn to a copy of the profile with id (a new, empty profile
// when there is none) and stores the result under a new version. Updates
// of one id are serialised. fn returning an error leaves the store as it
// was.
func (s *Store) Update(id string, fn func(p *profile.Profile) error) (*profile.Profile, error) {
	if id == "" || len(id) > MaxIDLen {
		return nil, ErrInvalidID
	}
	mu := s.lock(id)
	mu.Lock()
	defer mu.Unlock()
	old, ok := s.cache.get(id)
	if !ok {
		var err error
		if old, err = s.loadLocked(id); err != nil {
			return nil, err
		}
	}
	var p *profile.Profile
	if old != nil {
		p = old.Clone()
	} else {
		p = &profile.Profile{ID: id}
	}
	if err := fn(p); err != nil {
		if errors.Is(err, ErrNoChange) {
			return old, nil
		}
		return nil, err
	}
	p.ID = id
	p.Born = bornOf(p, s.clock.Now())
	p.Version = s.clock.Now()
	p.Node = s.node
	p.Updated = p.Version.Time().UTC()
	stampWrite(old, p, p.Version, p.Node)
	data, err := marshalProfile(p)
	if err != nil {
		return nil, fmt.Errorf("sync: encode %q: %w", id, err)
	}
	var buf [2]deltaEntry
	d := digestDelta(buf[:0])
	err = s.db.Update(func(tx *buntdb.Tx) error {
		return s.setRecord(tx, &d, id, string(data), false)
	})
	if err != nil {
		if errors.Is(err, buntdb.ErrDatabaseClosed) {
			return nil, ErrClosed
		}
		return nil, fmt.Errorf("sync: write %q: %w", id, err)
	}
	s.live.apply(d)
	s.cache.put(id, p)
	s.notify(Change{ID: id, Profile: p})
	return p, nil
}

// Delete removes the profile with id. Deleting a missing profile is not an
// error.
func (s *Store) Delete(id string) error {
	if id == "" || len(id) > MaxIDLen {
		return ErrInvalidID
	}
	mu := s.lock(id)
	mu.Lock()
	defer mu.Unlock()
	var d digestDelta
	err := s.db.Update(func(tx *buntdb.Tx) error {
		return s.deleteRecord(tx, &d, id, false)
	})
	if err == nil {
		s.live.apply(d)
	}
	if err != nil && !errors.Is(err, buntdb.ErrNotFound) {
		if errors.Is(err, buntdb.ErrDatabaseClosed) {
			return ErrClosed
		}
		return fmt.Errorf("sync: delete %q: %w", id, err)
	}
	s.cache.put(id, nil)
	s.notify(Change{ID: id})
	return nil
}

// Len returns the number of stored profiles.
func (s *Store) Len() (int, error) {
	n := 0
	err := s.ascendPrefix(keyPrefix, func(string, string) { n++ })
	return n, err
}
