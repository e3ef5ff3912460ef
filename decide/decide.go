package decide

import (
	"html/template"
	"slices"
	"sort"
	"time"

	"github.com/expr-lang/expr/vm"

	"github.com/marquee-proxy/marquee/profile"
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

// Choice is what fills one slot: a campaign and, when it runs an
// experiment, the visitor's variant. A holdout variant means the slot keeps
// its fallback, and is still an exposure of the experiment.
type Choice struct {
	Campaign *Campaign
	Variant  *Variant
}

// Holdout reports whether the visitor is in the campaign's holdout.
func (c Choice) Holdout() bool { return c.Variant != nil && c.Variant.Holdout }

// VariantName returns the variant's name, "" without an experiment.
func (c Choice) VariantName() string {
	if c.Variant == nil {
		return ""
	}
	return c.Variant.Name
}

// Decision holds the evaluation state of one request: the visitor's
// expression environment, memoised segment results and the campaigns
// already placed on the page. It is not safe for concurrent use; get one
// with Engine.Acquire and give it back with Release.
type Decision struct {
	e     *Engine
	p     *profile.Profile
	now   time.Time
	today int32
	id    []byte
	env   Env
	seg   []uint8
	depth int
	vms   [maxSegmentDepth + 1]vm.VM
	spent budget // of the evaluation running
	ctx   reqCtx // the request context, fetched as expressions read it
	data  offerData
	w     appendWriter
	used  []bool
	tmpls []*template.Template
	// owners memoises, per layer, the experiment the visitor belongs to:
	// every experiment of a layer asks, and each answer costs a hash per
	// experiment of the layer.
	owners []*experiment

	// GlobalHoldout is set when the visitor is in the global holdout: no
	// campaign applies to them.
	GlobalHoldout bool
	// Errors counts conditions that failed at run time in this decision;
	// each skipped its campaign.
	Errors int
}

// offerData is what offer templates see as their dot.
type offerData struct {
	// Profile is the visitor's profile.
	Profile *profile.Profile
}

// newDecision makes a Decision for e with its own clones of the offer
// templates, their functions bound to it, so that requests neither lock
// nor allocate closures.
func (e *Engine) newDecision() *Decision {
	d := &Decision{e: e}
	d.bind()
	d.tmpls = make([]*template.Template, len(e.templates))
	for i, t := range e.templates {
		c, err := t.Clone()
		if err != nil {
			// Masters are never executed, so Clone cannot fail.
			panic("decide: clone template: " + err.Error())
		}
		d.tmpls[i] = c.Funcs(template.FuncMap{"recommend": d.recommend})
	}
	d.seg = make([]uint8, len(e.segments))
	d.used = make([]bool, len(e.campaigns))
	d.owners = make([]*experiment, e.layers)
	return d
}

// Acquire returns a Decision for profile p at time now. id is who the
// visitor is for experiment assignment: the customer id when known, else the
// visitor id; it is copied. p may be an empty profile for a visitor marquee
// has not seen before, never nil.
func (e *Engine) Acquire(p *profile.Profile, id []byte, now time.Time) *Decision {
	var d *Decision
	select {
	case d = <-e.free:
	default:
		d = e.newDecision()
	}
	d.p, d.now, d.Errors = p, now, 0
	d.today = DayIndex(now, e.loc)
	d.id = append(d.id[:0], id...)
	d.env.Attrs = p.Attrs
	d.env.Scores = p.Scores
	total, _ := p.PurchasesSince(now.AddDate(0, 0, -30))
	d.env.Purchases = Purchases{Total30d: total, Count: len(p.Purchases)}
	if len(p.Purchases) > 0 {
		d.env.Purchases.Last = p.Purchases[len(p.Purchases)-1].At
	}
	d.env.Cart = Cart{Items: p.Cart.Count(), Value: p.Cart.Value(), UpdatedAt: p.Cart.UpdatedAt}
	d.env.BrowsingCategory = ""
	if e.browsing {
		d.env.BrowsingCategory = browsingCategory(p, d.today)
	}
	clear(d.seg)
	clear(d.used)
	clear(d.owners)
	if e.hasStable {
		e.stable.load(p, d.seg)
	}
	d.data.Profile = p
	d.ctx.reset(nil)
	d.GlobalHoldout = inShare(e.salt, "global", d.id, e.globalHoldout)
	return d
}

// SetContext makes c the request context the decision's expressions read
// (request.path, device.type, …); without it they read zero values. c is
// asked only for what expressions read, and not kept past Release.
func (d *Decision) SetContext(c Context) { d.ctx.reset(c) }

// Release returns d to its engine's pool; d must not be used afterwards.
func (d *Decision) Release() {
	e := d.e
	if e.hasStable {
		e.stable.store(d.p, d.seg, e.segments)
	}
	d.p, d.env.Attrs, d.env.Scores, d.data.Profile = nil, nil, nil, nil
	d.ctx.reset(nil)
	select {
	case e.free <- d:
	default:
	}
}

// bind points the environment's helper functions at d once.
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
	d.env.ViewsK = func(k int) int {
		if k < 0 || k >= len(d.e.viewKeys) {
			return 0
		}
		return d.viewsDays(d.e.viewKeys[k].category, d.e.viewKeys[k].days)
	}
	d.env.Viewed = func(product string) bool { return slices.Contains(d.p.Recent, product) }
	d.env.Score = func(name string) float64 { return d.p.Scores[name] }
	d.env.Since = func(t time.Time) time.Duration { return d.now.Sub(t) }
	d.env.Ctx, d.env.CtxB, d.env.CtxI, d.env.Query = d.ctxString, d.ctxBool, d.ctxInt, d.query
	b := &d.spent
	d.env.Repeat, d.env.Replace, d.env.Join = b.repeat, b.replace, b.join
	d.env.Split, d.env.SplitAfter, d.env.String = b.split(false), b.split(true), b.str
	d.env.Add, d.env.Step = b.add, b.step
	for i := range d.vms {
		d.vms[i].MemoryBudget = exprMemoryBudget
	}
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
	ok, err := d.runErr(prog)
	if err != nil {
		d.Errors++
	}
	return ok
}

func (d *Decision) runErr(prog *vm.Program) (bool, error) {
	if prog == nil {
		return false, nil
	}
	if d.depth >= len(d.vms) {
		return false, errTooDeep
	}
	if d.depth == 0 {
		// Segments evaluated inside a condition share its budget.
		d.spent.reset()
	}
	m := &d.vms[d.depth]
	d.depth++
	out, err := m.Run(prog, &d.env)
	d.depth--
	if err != nil {
		return false, err
	}
	b, _ := out.(bool)
	return b, nil
}

// Today returns the daily bucket of the decision's time.
func (d *Decision) Today() int32 { return d.today }

// Skip reasons a campaign does not fill its slot, as Explain reports them.
const (
	ReasonChosen         = "chosen"
	ReasonGlobalHoldout  = "visitor is in the global holdout"
	ReasonUsed           = "already fills another slot on this page"
	ReasonSchedule       = "outside its schedule"
	ReasonCapped         = "frequency cap reached"
	ReasonCondition      = "condition is false"
	ReasonConditionError = "condition failed to evaluate"
	ReasonNoVariant      = "no variant has weight"
	ReasonLayer          = "visitor is in another experiment of its layer"
	ReasonOutranked      = "a higher-priority campaign fills the slot"
)

// evaluate says whether campaign c can fill its slot for this visitor.
func (d *Decision) evaluate(c *Campaign) (Choice, string) {
	if d.GlobalHoldout {
		return Choice{}, ReasonGlobalHoldout
	}
	if d.used[c.index] {
		return Choice{}, ReasonUsed
	}
	if !c.sched.active(d.now) {
		return Choice{}, ReasonSchedule
	}
	if c.capMax > 0 && d.CapCount(c) >= c.capMax {
		return Choice{}, ReasonCapped
	}
	if c.exp != nil && c.exp.layer != nil && d.layerOwner(c.exp.layer) != c.exp {
		return Choice{}, ReasonLayer
	}
	if c.when != nil {
		ok, err := d.runErr(c.when)
		if err != nil {
			d.Errors++
			return Choice{}, ReasonConditionError
		}
		if !ok {
			return Choice{}, ReasonCondition
		}
	}
	ch := Choice{Campaign: c}
	if c.exp != nil {
		ch.Variant = d.variant(c)
		if ch.Variant == nil {
			return Choice{}, ReasonNoVariant
		}
	}
	return ch, ReasonChosen
}

// layerOwner returns the experiment of l the visitor belongs to.
func (d *Decision) layerOwner(l *layer) *experiment {
	if d.owners[l.index] == nil {
		d.owners[l.index] = l.owner(d.p.Variants, d.id)
	}
	return d.owners[l.index]
}

// Choose returns what fills slot for this visitor: the highest-priority
// campaign of the slot whose schedule, cap and condition allow it and that
// fills no other slot of this page yet. ok is false when the slot keeps its
// fallback because no campaign applies.
func (d *Decision) Choose(slot string) (ch Choice, ok bool) {
	for _, c := range d.e.bySlot[slot] {
		if ch, reason := d.evaluate(c); reason == ReasonChosen {
			d.used[c.index] = true
			return ch, true
		}
	}
	return Choice{}, false
}

// Force places campaign id with the named variant ("" for the campaign's
// own template, or its first variant) regardless of conditions, for
// previews. ok is false when there is no such campaign or variant.
func (d *Decision) Force(id, variant string) (ch Choice, ok bool) {
	for _, c := range d.e.campaigns {
		if c.ID != id {
			continue
		}
		ch.Campaign = c
		if c.exp != nil {
			if variant == "" {
				variant = c.exp.variants[0].Name
			}
			for _, v := range c.exp.variants {
				if v.Name == variant {
					ch.Variant = v
				}
			}
			if ch.Variant == nil {
				return Choice{}, false
			}
		} else if variant != "" {
			return Choice{}, false
		}
		d.used[c.index] = true
		return ch, true
	}
	return Choice{}, false
}

// variant returns the visitor's arm of c's experiment: the one remembered
// in the profile while it still exists, else the assigned one.
func (d *Decision) variant(c *Campaign) *Variant {
	if name, ok := d.p.Variants[c.exp.id]; ok {
		if v := c.exp.variant(name); v != nil {
			return v
		}
	}
	return c.exp.assign(d.id)
}

// CapCount returns how many times the visitor has seen c within its cap
// window, counting every node's impressions.
func (d *Decision) CapCount(c *Campaign) int {
	n := 0
	for _, b := range d.p.Caps[c.ID] {
		if b.Day > d.today-c.capDays && b.Day <= d.today {
			n += int(b.Count)
		}
	}
	return n
}

// Slots returns the names of the slots some campaign fills, sorted.
func (e *Engine) Slots() []string {
	out := make([]string, 0, len(e.bySlot))
	for s := range e.bySlot {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// SegmentNames returns the names of the segments this decision's visitor is
// in, evaluating each; for the admin API's profile view, not the request
// path.
func (d *Decision) SegmentNames() []string {
	var names []string
	for i, s := range d.e.segments {
		if d.segment(i) {
			names = append(names, s.name)
		}
	}
	return names
}
