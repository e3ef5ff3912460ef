package decide

import (
	"io"
	"slices"
	stdsync "sync"
	"time"

	"github.com/expr-lang/expr/vm"

	"github.com/marquee-proxy/marquee/config"
	msync "github.com/marquee-proxy/marquee/sync"
)

// maxSegmentDepth bounds segments evaluated inside segments. Cycles are
// refused at compile time; this only sizes the stack of VMs.
const maxSegmentDepth = 16

// segment evaluation states in Decision.seg.
const (
	segUnknown uint8 = iota
	segTrue
	segFalse
	segEvaluating
)

// Decision holds the evaluation state of one request: the visitor's
// expression environment and memoised segment results. It is not safe for
// concurrent use; get one with Engine.Acquire and give it back with Release.
type Decision struct {
	e     *Engine
	p     *msync.Profile
	now   time.Time
	env   Env
	seg   []uint8
	depth int
	vms   [maxSegmentDepth + 1]vm.VM
	data  offerData
	w     appendWriter
	// Errors counts conditions that failed at run time in this decision;
	// each skipped its campaign.
	Errors int
}

// offerData is what offer templates see as their dot.
type offerData struct {
	// Profile is the visitor's profile.
	Profile *msync.Profile
}

var decisionPool stdsync.Pool

// Acquire returns a Decision for profile p at time now. p may be an empty
// profile for a visitor marquee has not seen before, never nil.
func (e *Engine) Acquire(p *msync.Profile, now time.Time) *Decision {
	d, _ := decisionPool.Get().(*Decision)
	if d == nil {
		d = &Decision{}
		d.bind()
	}
	d.e, d.p, d.now, d.Errors = e, p, now, 0
	d.env.Attrs = p.Attrs
	d.env.Scores = p.Scores
	total, _ := p.PurchasesSince(now.AddDate(0, 0, -30))
	d.env.Purchases = Purchases{Total30d: total, Count: len(p.Purchases)}
	if len(p.Purchases) > 0 {
		d.env.Purchases.Last = p.Purchases[len(p.Purchases)-1].At
	}
	d.env.Cart = Cart{Items: p.Cart.Count(), Value: p.Cart.Value(), UpdatedAt: p.Cart.UpdatedAt}
	if cap(d.seg) < len(e.segments) {
		d.seg = make([]uint8, len(e.segments))
	}
	d.seg = d.seg[:len(e.segments)]
	clear(d.seg)
	d.data.Profile = p
	return d
}

// Release returns d to the pool; d must not be used afterwards.
func (d *Decision) Release() {
	d.e, d.p = nil, nil
	d.env.Attrs, d.env.Scores = nil, nil
	d.data.Profile = nil
	decisionPool.Put(d)
}

// bind points the environment's helper functions at d once, so that
// requests do not allocate closures.
func (d *Decision) bind() {
	d.env.Seg = d.segment
	d.env.InSegment = func(name string) bool {
		for i, s := range d.e.segments {
			if s.name == name {
				return d.segment(i)
			}
		}
		return false
	}
	d.env.Views = d.views
	d.env.Viewed = func(product string) bool {
		for _, r := range d.p.Recent {
			if r == product {
				return true
			}
		}
		return false
	}
	d.env.Score = func(name string) float64 { return d.p.Scores[name] }
	d.env.Since = func(t time.Time) time.Duration { return d.now.Sub(t) }
}

// segment evaluates segment i once per decision. A runtime error makes the
// segment false and is counted.
func (d *Decision) segment(i int) bool {
	if i < 0 || i >= len(d.seg) {
		return false
	}
	switch d.seg[i] {
	case segTrue:
		return true
	case segFalse, segEvaluating:
		return false
	}
	d.seg[i] = segEvaluating
	ok := d.run(d.e.segments[i].prog)
	if ok {
		d.seg[i] = segTrue
	} else {
		d.seg[i] = segFalse
	}
	return ok
}

// run evaluates a compiled boolean program against the environment.
func (d *Decision) run(prog *vm.Program) bool {
	if prog == nil {
		return false
	}
	if d.depth >= len(d.vms) {
		d.Errors++
		return false
	}
	m := &d.vms[d.depth]
	d.depth++
	out, err := m.Run(prog, &d.env)
	d.depth--
	if err != nil {
		d.Errors++
		return false
	}
	b, _ := out.(bool)
	return b
}

// views counts views of category within window (e.g. "7d") from the daily
// buckets, counting today as the first day.
func (d *Decision) views(category, window string) int {
	w, err := config.ParseDuration(window)
	if err != nil || w <= 0 {
		return 0
	}
	days := int32((w.D() + 24*time.Hour - 1) / (24 * time.Hour))
	today := DayIndex(d.now, d.e.loc)
	n := 0
	for _, b := range d.p.Views[category] {
		if b.Day > today-days && b.Day <= today {
			n += int(b.Count)
		}
	}
	return n
}

// DayIndex is the daily bucket a time falls in: days since the Unix epoch
// in loc.
func DayIndex(t time.Time, loc *time.Location) int32 {
	y, m, dd := t.In(loc).Date()
	return int32(time.Date(y, m, dd, 0, 0, 0, 0, time.UTC).Unix() / 86400)
}

// Choose returns the campaign that fills slot for this visitor: the
// highest-priority campaign of the slot whose condition holds, or nil.
func (d *Decision) Choose(slot string) *Campaign {
	for _, c := range d.e.bySlot[slot] {
		if c.when == nil || d.run(c.when) {
			return c
		}
	}
	return nil
}

// AppendOffer renders c's offer for this visitor onto dst. A rendering is
// remembered per profile snapshot, so a returning visitor whose profile has
// not changed costs a copy, not a template execution.
func (d *Decision) AppendOffer(dst []byte, c *Campaign) ([]byte, error) {
	k := offerKey{c: c, p: d.p}
	if b, ok := d.e.offers.get(k); ok {
		return append(dst, b...), nil
	}
	start := len(dst)
	d.w.b = dst
	err := c.tmpl.Execute(&d.w, &d.data)
	dst, d.w.b = d.w.b, nil
	if err != nil {
		return dst[:start], err
	}
	d.e.offers.put(k, append([]byte(nil), dst[start:]...))
	return dst, nil
}

// appendWriter is an io.Writer appending to a reusable slice.
type appendWriter struct{ b []byte }

func (w *appendWriter) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}

func (w *appendWriter) WriteString(s string) (int, error) {
	w.b = append(w.b, s...)
	return len(s), nil
}

var _ io.StringWriter = (*appendWriter)(nil)

// SegmentNames returns the names of the segments this decision's visitor is
// in, evaluating each.
func (d *Decision) SegmentNames() []string {
	var names []string
	for i, s := range d.e.segments {
		if d.segment(i) {
			names = append(names, s.name)
		}
	}
	return names
}

// Slots returns the names of the slots some campaign fills.
func (e *Engine) Slots() []string {
	var out []string
	for _, c := range e.campaigns {
		if !slices.Contains(out, c.Slot) {
			out = append(out, c.Slot)
		}
	}
	return out
}
