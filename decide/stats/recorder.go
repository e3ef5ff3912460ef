package stats

import (
	stdsync "sync"
	"sync/atomic"
	"time"

	"github.com/axiomhq/hyperloglog"
	"github.com/marquee-proxy/marquee/profile"
)

// VariantSpec is one configured arm of a campaign's experiment, as the
// decision engine assigns it.
type VariantSpec struct {
	// Name identifies the variant within its campaign.
	Name string `json:"name"`
	// Weight is the variant's configured share of the campaign's visitors,
	// relative to the sum of every Weight of the campaign, holdout included:
	// a 10% holdout with two equal variants is 0.45, 0.45 and 0.1. Zero
	// leaves the variant out of the sample-ratio check.
	Weight float64 `json:"weight"`
	// Control marks the variant lift is measured against. When no variant is
	// marked, lift is measured against the Holdout one.
	Control bool `json:"control,omitempty"`
	// Holdout marks the share of visitors that saw the slot's fallback. The
	// decision engine records its exposures like any variant's, or there is
	// nothing to compare against.
	Holdout bool `json:"holdout,omitempty"`
}

// DefaultMaxSeries is the number of (campaign, variant) pairs a Recorder
// tracks when Config.MaxSeries is zero.
const DefaultMaxSeries = 10000

// Config configures a Recorder. The zero value works.
type Config struct {
	// MaxSeries caps the number of (campaign, variant) pairs tracked. Each
	// costs about 32 KiB of sketches, so the cap bounds memory if a bug or a
	// stale config names pairs without end. Events for pairs beyond the cap
	// are dropped and counted by Recorder.Dropped. Zero means
	// DefaultMaxSeries.
	MaxSeries int
	// Now returns the current time; nil means time.Now. Tests set it.
	Now func() time.Time
	// Location is the time zone of the daily counters' days; nil means
	// UTC.
	Location *time.Location
}

// Recorder counts exposures and conversions of one node. Create one with
// NewRecorder. It is safe for concurrent use; Expose and Convert are meant
// for the request path: they never block on I/O and hold a lock only for a
// sketch insert.
//
// Counters are atomic; each pair's two sketches sit behind one mutex of that
// pair, so contention is limited to requests for the same variant.
type Recorder struct {
	now       func() time.Time
	loc       *time.Location
	started   time.Time
	maxSeries int
	dropped   atomic.Uint64

	// index is an immutable snapshot, replaced whole under mu, so that the
	// request path reads it with one atomic load and no lock.
	index atomic.Pointer[index]

	mu stdsync.Mutex // serialises writers of index
}

// index maps campaign names to their series. It is never modified after it
// is published.
type index struct {
	campaigns map[string]*campaignSeries
	n         int // number of series
}

// campaignSeries is one campaign's configuration and counters. It is
// immutable after publication; the series it points to are shared between
// successive snapshots so that counts survive re-registration.
type campaignSeries struct {
	order    []string // variant names: registered first, in config order
	specs    map[string]VariantSpec
	exp      ExperimentSpec
	variants map[string]*series
}

// series holds the counters of one (campaign, variant) pair on this node.
type series struct {
	exposures   atomic.Uint64
	conversions atomic.Uint64

	mu         stdsync.Mutex // guards the fields below
	visitors   *hyperloglog.Sketch
	converters *hyperloglog.Sketch
	seen       bool // a visitor was inserted into visitors
	converted  bool // a visitor was inserted into converters
	moments    Moments
	days       *dayRing // allocated at the first enrollment or outcome
}

func newSeries() *series {
	// Dense sketches: a sparse one allocates as it grows, and Insert runs
	// on the request path. 16 KiB each is the price.
	return &series{
		visitors:   hyperloglog.NewNoSparse(),
		converters: hyperloglog.NewNoSparse(),
	}
}

// NewRecorder returns an empty Recorder whose G-counter entries are keyed by
// the time it was created, so that a restarted node never overwrites the
// counts of its previous run.
func NewRecorder(cfg Config) *Recorder {
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	limit := cfg.MaxSeries
	if limit <= 0 {
		limit = DefaultMaxSeries
	}
	loc := cfg.Location
	if loc == nil {
		loc = time.UTC
	}
	r := &Recorder{now: now, loc: loc, started: now().UTC(), maxSeries: limit}
	r.index.Store(&index{campaigns: map[string]*campaignSeries{}})
	return r
}

// Register declares a campaign's variants and their configured split, so
// that recording them never allocates and the report can compute lift and
// the sample-ratio check. Registering a campaign again (on config reload)
// replaces its specs and keeps every count; variants no longer configured
// keep their counts with no weight. Empty variant names are ignored. The
// campaign's metrics are the defaults of ExperimentSpec.
func (r *Recorder) Register(campaign string, variants []VariantSpec) {
	r.RegisterExperiment(campaign, variants, ExperimentSpec{})
}

// RegisterExperiment is Register with the metrics and analysis the report
// uses for the campaign's experiment.
func (r *Recorder) RegisterExperiment(campaign string, variants []VariantSpec, exp ExperimentSpec) {
	r.mu.Lock()
	defer r.mu.Unlock()
	old := r.index.Load()
	prev := old.campaigns[campaign]
	cs := &campaignSeries{
		specs:    make(map[string]VariantSpec, len(variants)),
		exp:      exp.clone(),
		variants: make(map[string]*series, len(variants)),
	}
	// Series of prev stay (counted in old.n); only new ones add to n.
	n := old.n
	for _, v := range variants {
		if _, dup := cs.specs[v.Name]; dup || v.Name == "" {
			continue
		}
		s := prev.lookup(v.Name)
		if s == nil {
			if n >= r.maxSeries {
				continue
			}
			s = newSeries()
			n++
		}
		cs.specs[v.Name] = v
		cs.variants[v.Name] = s
		cs.order = append(cs.order, v.Name)
	}
	if prev != nil {
		for _, name := range prev.order {
			if _, ok := cs.variants[name]; !ok {
				cs.variants[name] = prev.variants[name]
				cs.order = append(cs.order, name)
			}
		}
	}
	r.publishLocked(old, campaign, cs, n)
}

func (cs *campaignSeries) lookup(variant string) *series {
	if cs == nil {
		return nil
	}
	return cs.variants[variant]
}

// publishLocked stores a copy of old with campaign set to cs. r.mu must be
// held.
func (r *Recorder) publishLocked(old *index, campaign string, cs *campaignSeries, n int) {
	next := &index{campaigns: make(map[string]*campaignSeries, len(old.campaigns)+1), n: n}
	for k, v := range old.campaigns {
		next.campaigns[k] = v
	}
	next.campaigns[campaign] = cs
	r.index.Store(next)
}

// series returns the counters of (campaign, variant), creating them when the
// pair was never registered, or nil when the series cap is reached.
func (r *Recorder) series(campaign, variant string) *series {
	idx := r.index.Load()
	if s := idx.campaigns[campaign].lookup(variant); s != nil {
		return s
	}
	if idx.n >= r.maxSeries {
		return nil // without taking r.mu: a flood of unknown pairs stays cheap
	}
	return r.addSeries(campaign, variant)
}

// addSeries is the slow path of series: an unregistered pair gets counters
// and no spec, so it is counted but has no weight and is never the control.
func (r *Recorder) addSeries(campaign, variant string) *series {
	r.mu.Lock()
	defer r.mu.Unlock()
	old := r.index.Load()
	prev := old.campaigns[campaign]
	if s := prev.lookup(variant); s != nil {
		return s // another goroutine added it first
	}
	if old.n >= r.maxSeries {
		return nil
	}
	cs := &campaignSeries{specs: map[string]VariantSpec{}, variants: map[string]*series{}}
	if prev != nil {
		cs.order = append(cs.order, prev.order...)
		cs.specs = prev.specs // never modified after publication
		cs.exp = prev.exp
		for k, v := range prev.variants {
			cs.variants[k] = v
		}
	}
	s := newSeries()
	cs.variants[variant] = s
	cs.order = append(cs.order, variant)
	r.publishLocked(old, campaign, cs, old.n+1)
	return s
}

// Expose records that visitor was shown campaign's variant. visitor is the
// id the experiment assigned on (customer id when known, else visitor id);
// it is hashed and not retained. An empty visitor counts an exposure but no
// unique visitor. Expose does not allocate for a registered pair.
func (r *Recorder) Expose(campaign, variant string, visitor []byte) {
	r.record(campaign, variant, visitor, false)
}

// Convert records a conversion attributed to campaign's variant for
// visitor, the same id passed to Expose. Every call counts a conversion;
// converters counts each visitor once. visitor is not retained. Convert
// does not allocate for a registered pair.
func (r *Recorder) Convert(campaign, variant string, visitor []byte) {
	r.record(campaign, variant, visitor, true)
}

// record counts an exposure or, with conversion, a conversion.
func (r *Recorder) record(campaign, variant string, visitor []byte, conversion bool) {
	s := r.series(campaign, variant)
	if s == nil {
		r.dropped.Add(1)
		return
	}
	if conversion {
		s.conversions.Add(1)
	} else {
		s.exposures.Add(1)
	}
	if len(visitor) == 0 {
		return
	}
	s.mu.Lock()
	if conversion {
		s.converters.Insert(visitor)
		s.converted = true
	} else {
		s.visitors.Insert(visitor)
		s.seen = true
	}
	s.mu.Unlock()
}

// Enroll records that a visitor entered campaign's variant: the first
// exposure of that visitor to it, as the caller's profile records it, with
// what the visitor did in the 30 days before (the CUPED covariate). It
// runs once per visitor and variant, off the request path; it does not
// allocate for a registered pair after the pair's first enrollment or
// outcome.
func (r *Recorder) Enroll(campaign, variant string, pre Covariate) {
	r.moments(campaign, variant, func(m *Moments) { m.enroll(pre) })
}

// Outcome records a conversion credited to an enrolled visitor of
// campaign's variant, with its purchase value and the visitor's totals
// before it. Like Enroll, it is for the write queue, not the request
// path.
func (r *Recorder) Outcome(campaign, variant string, out Outcome) {
	r.moments(campaign, variant, func(m *Moments) { m.outcome(out) })
}

// moments applies f to the pair's totals and to today's bucket.
func (r *Recorder) moments(campaign, variant string, f func(*Moments)) {
	s := r.series(campaign, variant)
	if s == nil {
		r.dropped.Add(1)
		return
	}
	day := profile.DayIndex(r.now(), r.loc)
	s.mu.Lock()
	if s.days == nil {
		s.days = new(dayRing)
	}
	f(&s.moments)
	f(s.days.at(day))
	s.mu.Unlock()
}

// Dropped returns the number of Expose, Convert, Enroll and Outcome calls
// ignored because Config.MaxSeries was reached.
func (r *Recorder) Dropped() uint64 { return r.dropped.Load() }

// Started returns the creation time of r, the second half of its G-counter
// key.
func (r *Recorder) Started() time.Time { return r.started }

// Restore adds the counts and sketches of st, a state this node saved with
// State before it stopped, and takes over st's start time, so that a
// restarted node continues the G-counter entry it gossiped before instead
// of opening a second one that peers would add to the first. Campaigns are
// restored without their specs: Register, called when the configuration
// is compiled, gives the ones still configured their weights again.
// Pairs beyond Config.MaxSeries are dropped. Call Restore before r is
// shared: it is not safe to run alongside State, Expose or Convert.
func (r *Recorder) Restore(st NodeState) error {
	if err := st.Validate(); err != nil {
		return err
	}
	if !st.Started.IsZero() {
		r.started = st.Started.UTC()
	}
	for _, c := range st.Campaigns {
		for _, v := range c.Variants {
			s := r.series(c.Campaign, v.Name)
			if s == nil {
				continue
			}
			s.exposures.Add(v.Exposures)
			s.conversions.Add(v.Conversions)
			s.mu.Lock()
			if v.Moments != nil {
				s.moments.add(*v.Moments)
			}
			for _, d := range v.Daily {
				day, _ := parseDay(d.Day) // checked by Validate
				if s.days == nil {
					s.days = new(dayRing)
				}
				s.days.at(day).add(d.Moments)
			}
			if sk := union(nil, v.Visitors); sk != nil {
				_ = s.visitors.Merge(sk) // precision checked by Validate
				s.seen = true
			}
			if sk := union(nil, v.Converters); sk != nil {
				_ = s.converters.Merge(sk)
				s.converted = true
			}
			s.mu.Unlock()
		}
	}
	return nil
}
