package sync

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"runtime"
	stdsync "sync"
	"time"

	"github.com/marquee-proxy/marquee/profile"
)

// ProfileRecord is one line of a profile import: the operator-owned fields
// of a profile. Attributes and scores are merged per key into what is
// stored (null removes an attribute); consent replaces when given;
// purchases are added once per order id. Observed behaviour is kept.
type ProfileRecord struct {
	ID        string             `json:"id"`
	Attrs     map[string]any     `json:"attrs"`
	Scores    map[string]float64 `json:"scores"`
	Consent   *profile.Consent   `json:"consent"`
	Purchases []profile.Purchase `json:"purchases"`
}

// Bounds of one import record.
const (
	maxRecordAttrs  = 256
	maxAttrKeyLen   = 64
	maxAttrValueLen = 4096
	// MaxImportLine is the longest line an import accepts.
	MaxImportLine = 1 << 20
)

// DecodeProfileRecord decodes and checks one import line.
func DecodeProfileRecord(raw []byte) (ProfileRecord, *FieldError) {
	var r ProfileRecord
	if err := decodeStrictJSON(raw, &r); err != nil {
		return r, err
	}
	if !ValidID(r.ID) {
		return r, fieldErr("id", "want 1 to %d characters of letters, digits and -_.:@", MaxIDLen)
	}
	if len(r.Attrs) > maxRecordAttrs || len(r.Scores) > maxRecordAttrs {
		return r, fieldErr("attrs", "more than %d attributes or scores", maxRecordAttrs)
	}
	for k, v := range r.Attrs {
		if k == "" || len(k) > maxAttrKeyLen {
			return r, fieldErr("attrs", "attribute names are 1 to %d bytes", maxAttrKeyLen)
		}
		switch v := v.(type) {
		case string:
			if len(v) > maxAttrValueLen {
				return r, fieldErr("attrs."+k, "string longer than %d bytes", maxAttrValueLen)
			}
		case float64, bool, nil:
		default:
			return r, fieldErr("attrs."+k, "want a string, number or boolean")
		}
	}
	for k, v := range r.Scores {
		if k == "" || len(k) > maxAttrKeyLen || math.IsNaN(v) || math.IsInf(v, 0) {
			return r, fieldErr("scores."+truncate(k), "want a finite number under a name of 1 to %d bytes", maxAttrKeyLen)
		}
	}
	if len(r.Purchases) > maxPurchases {
		return r, fieldErr("purchases", "more than %d purchases", maxPurchases)
	}
	for i, o := range r.Purchases {
		if o.At.IsZero() || math.IsNaN(o.Value) || math.IsInf(o.Value, 0) || o.Value < 0 {
			return r, fieldErr(fmt.Sprintf("purchases[%d]", i), "want a time \"at\" and a non-negative value")
		}
	}
	return r, nil
}

// applyRecord merges r into p.
func applyRecord(p *profile.Profile, r *ProfileRecord) {
	for k, v := range r.Attrs {
		if v == nil {
			delete(p.Attrs, k)
			continue
		}
		if p.Attrs == nil {
			p.Attrs = make(map[string]any, len(r.Attrs))
		}
		p.Attrs[k] = v
	}
	for k, v := range r.Scores {
		if p.Scores == nil {
			p.Scores = make(map[string]float64, len(r.Scores))
		}
		p.Scores[k] = v
	}
	if r.Consent != nil {
		p.Consent = *r.Consent
	}
	for _, o := range r.Purchases {
		o.At = o.At.UTC()
		p.Purchases = addPurchase(p.Purchases, o)
	}
}

// ImportProfiles writes a batch of checked records in one transaction,
// skipping erased ids' tombstones (an import is a new write). Records of
// one id later in the batch win.
func (s *Store) ImportProfiles(recs []ProfileRecord) error { return s.importProfiles(recs, nil) }

// importProfiles is ImportProfiles where fresh[i], when not nil, is recs[i]
// already encoded as a new profile, used when the id has none yet.
func (s *Store) importProfiles(recs []ProfileRecord, fresh [][]byte) error {
	ids := make([]string, len(recs))
	for i := range recs {
		ids[i] = recs[i].ID
	}
	return s.inBatch(ids, true, func(b *batch) error {
		for i := range recs {
			if fresh != nil && fresh[i] != nil {
				ok, err := b.exists(recs[i].ID)
				if err != nil {
					return err
				}
				if !ok {
					if err := b.setRaw(recs[i].ID, fresh[i]); err != nil {
						return err
					}
					continue
				}
			}
			p, err := b.edit(recs[i].ID)
			if err != nil {
				return err
			}
			applyRecord(p, &recs[i])
		}
		return nil
	})
}

// ImportKind says what an import stream holds.
type ImportKind uint8

// Import kinds.
const (
	// ImportAuto decides from the first record: one with a "type" field
	// makes an events file.
	ImportAuto ImportKind = iota
	// ImportProfiles: one ProfileRecord per line.
	ImportProfiles
	// ImportEvents: one Event per line.
	ImportEvents
)

// String returns the kind's name.
func (k ImportKind) String() string {
	switch k {
	case ImportAuto:
		return "auto"
	case ImportProfiles:
		return "profiles"
	case ImportEvents:
		return "events"
	}
	return "invalid"
}

// ParseImportKind parses "auto", "profiles" or "events".
func ParseImportKind(s string) (ImportKind, error) {
	for _, k := range []ImportKind{ImportAuto, ImportProfiles, ImportEvents} {
		if k.String() == s {
			return k, nil
		}
	}
	return 0, fmt.Errorf("sync: unknown import kind %q, want auto, profiles or events", s)
}

// ImportOptions configures Import.
type ImportOptions struct {
	// Kind is what the stream holds. Zero: decided from the first record.
	Kind ImportKind
	// BatchSize is the number of records per transaction. Zero means 2048.
	BatchSize int
	// Workers decode records in parallel. Zero means GOMAXPROCS.
	Workers int
	// Reject is called, in line order, for each record that is not
	// imported. Nil ignores them.
	Reject func(line int, err error)
	// Progress is called after each batch with the running totals. Nil:
	// no calls.
	Progress func(ImportStats)
}

// ImportStats counts an import's records.
type ImportStats struct {
	// Kind is what the stream held.
	Kind ImportKind `json:"kind"`
	// Imported records were stored (for events: accepted).
	Imported int `json:"imported"`
	// Duplicates are events already applied.
	Duplicates int `json:"duplicates,omitempty"`
	// Rejected records were invalid.
	Rejected int `json:"rejected"`
	// Elapsed is the import's duration so far.
	Elapsed time.Duration `json:"-"`
}

// MarshalText encodes the kind as its name.
func (k ImportKind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// importChunk is a batch of raw lines on its way through the pipeline.
type importChunk struct {
	data  []byte
	ends  []int
	lines []int
	recs  []ProfileRecord
	fresh [][]byte          // recs encoded as new profiles
	vers  []profile.Version // versions reserved in stream order
	evs   []Event
	errs  []*FieldError
	done  chan struct{}
}

// Import streams NDJSON (or a JSON array) of profile records or events
// from r into the store: lines are decoded in parallel and written in
// order, BatchSize per transaction, with memory bounded by a few batches.
// It returns the totals; an error means the stream could not be read or the
// store failed, and what was imported before stays imported.
func (s *Store) Import(r io.Reader, o ImportOptions) (ImportStats, error) {
	if o.BatchSize <= 0 {
		o.BatchSize = 2048
	}
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	start := time.Now()
	st := ImportStats{Kind: o.Kind}
	jobs := make(chan *importChunk, o.Workers)
	ordered := make(chan *importChunk, 2*o.Workers)
	var wg stdsync.WaitGroup
	kind := o.Kind
	var kindOnce stdsync.Once
	decide := func(raw []byte) {
		kindOnce.Do(func() {
			if kind == ImportAuto {
				kind = ImportProfiles
				if bytes.Contains(raw, []byte(`"type"`)) {
					kind = ImportEvents
				}
			}
		})
	}
	for range o.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range jobs {
				c.decode(kind, s.node)
				close(c.done)
			}
		}()
	}
	var scanErr error
	go func() {
		defer close(ordered)
		defer close(jobs)
		cur := &importChunk{done: make(chan struct{})}
		flush := func() {
			jobs <- cur
			ordered <- cur
			cur = &importChunk{done: make(chan struct{})}
		}
		scanErr = ScanItems(r, MaxImportLine, func(_, line int, raw []byte) bool {
			decide(raw)
			cur.data = append(cur.data, raw...)
			cur.ends = append(cur.ends, len(cur.data))
			cur.lines = append(cur.lines, line)
			if kind != ImportEvents {
				cur.vers = append(cur.vers, s.clock.Now())
			}
			if len(cur.ends) >= o.BatchSize {
				flush()
			}
			return true
		})
		if len(cur.ends) > 0 {
			flush()
		}
	}()
	var storeErr error
	for c := range ordered {
		<-c.done
		if storeErr != nil {
			continue
		}
		storeErr = s.writeChunk(c, kind, &st, o.Reject)
		st.Kind = kind
		st.Elapsed = time.Since(start)
		if o.Progress != nil {
			o.Progress(st)
		}
	}
	wg.Wait()
	st.Kind = kind
	st.Elapsed = time.Since(start)
	if storeErr != nil {
		return st, storeErr
	}
	return st, scanErr
}

// decode decodes the chunk's lines and, for profiles, encodes each as a
// new profile under the version reserved for it, so that the writer, which
// runs alone, only has to store it when the id is new.
func (c *importChunk) decode(kind ImportKind, node string) {
	c.errs = make([]*FieldError, len(c.ends))
	begin := 0
	for i, end := range c.ends {
		raw := c.data[begin:end]
		begin = end
		if kind == ImportEvents {
			ev, err := DecodeEvent(raw)
			c.evs = append(c.evs, ev)
			c.errs[i] = err
			continue
		}
		rec, err := DecodeProfileRecord(raw)
		c.recs = append(c.recs, rec)
		c.errs[i] = err
		var data []byte
		if err == nil {
			p := &profile.Profile{ID: rec.ID, Version: c.vers[i], Born: c.vers[i], Node: node}
			p.Updated = p.Version.Time().UTC()
			applyRecord(p, &rec)
			stampWrite(nil, p, p.Version, node)
			data, _ = marshalProfile(p)
		}
		c.fresh = append(c.fresh, data)
	}
}

// writeChunk stores a decoded chunk and counts it.
func (s *Store) writeChunk(c *importChunk, kind ImportKind, st *ImportStats, reject func(int, error)) error {
	rejectAt := func(i int, err error) {
		st.Rejected++
		if reject != nil {
			reject(c.lines[i], err)
		}
	}
	if kind == ImportEvents {
		evs := make([]Event, 0, len(c.evs))
		idx := make([]int, 0, len(c.evs))
		for i := range c.evs {
			if c.errs[i] != nil {
				rejectAt(i, c.errs[i])
				continue
			}
			evs = append(evs, c.evs[i])
			idx = append(idx, i)
		}
		for j, r := range s.ApplyEvents(evs) {
			switch r.Status {
			case EventAccepted:
				st.Imported++
			case EventDuplicate:
				st.Duplicates++
			case EventFailed:
				return r.Err
			default:
				rejectAt(idx[j], r.Err)
			}
		}
		return nil
	}
	recs := make([]ProfileRecord, 0, len(c.recs))
	fresh := make([][]byte, 0, len(c.recs))
	for i := range c.recs {
		if c.errs[i] != nil {
			rejectAt(i, c.errs[i])
			continue
		}
		recs = append(recs, c.recs[i])
		fresh = append(fresh, c.fresh[i])
	}
	if len(recs) == 0 {
		return nil
	}
	if err := s.importProfiles(recs, fresh); err != nil {
		if errors.Is(err, ErrClosed) {
			return err
		}
		return fmt.Errorf("sync: import: %w", err)
	}
	st.Imported += len(recs)
	return nil
}
