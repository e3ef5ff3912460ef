package decide

import (
	"errors"
	"fmt"
	"html/template"
	"sort"
	"strings"
	"time"

	"github.com/expr-lang/expr/vm"

	"github.com/marquee-proxy/marquee/config"
	"github.com/marquee-proxy/marquee/profile"
)

// maxExprNodes bounds the size of one compiled expression.
const maxExprNodes = 1000

// offerCacheEntries and offerCacheBytes bound the rendered offers an
// Engine remembers.
const (
	offerCacheEntries = 1 << 16
	offerCacheBytes   = 64 << 20
)

// Offer limits: a rendering past either fails, the slot keeping its
// fallback (counted by the caller as a render error).
const (
	// MaxOfferSize is the largest rendered offer.
	MaxOfferSize = 64 << 10
	// MaxRenderTime bounds one offer's rendering. Renderings take
	// microseconds; the margin is for a loaded machine.
	MaxRenderTime = 250 * time.Millisecond
	// maxTemplateRange bounds the iterations of nested {{range N}} with
	// constant N in an offer template.
	maxTemplateRange = 10_000
)

// Engine is the compiled, read-only form of a configuration's segments,
// campaigns, experiments and catalog. It is safe for concurrent use.
type Engine struct {
	segments  []*segment
	campaigns []*Campaign
	bySlot    map[string][]*Campaign
	loc       *time.Location
	layers    int // exclusive experiment layers

	// templates are the offer templates, parsed but never executed:
	// every Decision works on its own clones, bound to it.
	templates     []*template.Template
	templatePaths []string // where each template is in the configuration
	dated         []bool   // templates calling recommend, whose output changes daily
	offers        *offerCache
	// renderTime bounds one rendering (MaxRenderTime; tests shorten it);
	// MaxOfferSize bounds its output.
	renderTime time.Duration
	hasStable  bool // some segment's result is cached per profile snapshot
	stable     *segmentCache
	catalog    *Catalog
	// recommendViewed keeps the page's product and recently viewed ones
	// in recommendations (config recommend_viewed).
	recommendViewed bool

	salt          string
	globalHoldout float64
	conversions   conversions
	browsing      bool // some expression reads browsing_category
	visit         bool // some expression reads visit.*
	// viewKeys are the constant (category, window) pairs of views calls,
	// compiled into calls of Env.ViewsK by index.
	viewKeys []viewKey

	// free holds idle Decisions. A bounded channel, not a sync.Pool: a
	// Decision carries clones of every offer template, costly to rebuild,
	// and a sync.Pool would drop them all at each garbage collection.
	free chan *Decision
}

// maxIdleDecisions bounds the Decisions an Engine keeps for reuse.
const maxIdleDecisions = 256

type segment struct {
	name string
	prog *vm.Program
	// stable segments read nothing that changes with time, so their result
	// is a function of the profile snapshot alone.
	stable bool
	// contextual segments read the request (request, device, geo, visit,
	// time).
	contextual bool
}

// Campaign is one compiled campaign.
type Campaign struct {
	// ID identifies the campaign.
	ID string
	// Slot is the slot it fills.
	Slot string
	// Priority orders campaigns of one slot; highest wins.
	Priority int

	index   int
	when    *vm.Program
	tmpl    int // index into Engine.templates
	sched   *schedule
	capMax  int
	capDays int32
	exp     *experiment
}

// Experiment returns the campaign's experiment id, or "" without one.
func (c *Campaign) Experiment() string {
	if c.exp == nil {
		return ""
	}
	return c.exp.id
}

// Variants returns the arms of the campaign's experiment, the holdout
// included, or nil without one.
func (c *Campaign) Variants() []*Variant {
	if c.exp == nil {
		return nil
	}
	return c.exp.variants
}

// ExperimentConfig returns the configuration of the campaign's
// experiment, or nil without one. It is shared: the caller must not
// modify it.
func (c *Campaign) ExperimentConfig() *config.Experiment {
	if c.exp == nil {
		return nil
	}
	return c.exp.cfg
}

// CapDays returns the campaign's cap window in days and its maximum, or
// zeros without a cap.
func (c *Campaign) CapDays() (days int32, max int) { return c.capDays, c.capMax }

// templateStubs stand in for the functions a Decision binds to itself, so
// that templates parse.
var templateStubs = template.FuncMap{
	"recommend": func(int) ([]Product, error) { return nil, nil },
}

// Compile compiles the segments, campaigns, experiments and catalog of cfg.
// Every problem is reported, each located in the file through cfg, as a
// config.Errors.
func Compile(cfg *config.Config) (*Engine, error) {
	e := &Engine{
		bySlot:        map[string][]*Campaign{},
		loc:           time.UTC,
		offers:        newOfferCache(offerCacheEntries, offerCacheBytes),
		renderTime:    MaxRenderTime,
		stable:        newSegmentCache(segmentCacheEntries),
		salt:          cfg.Salt,
		globalHoldout: cfg.GlobalHoldout,

		recommendViewed: cfg.RecommendViewed,
	}
	var errs config.Errors
	if cfg.TimeZone != "" {
		loc, err := time.LoadLocation(cfg.TimeZone)
		if err != nil {
			errs = append(errs, cfg.Errorf("time_zone", "unknown time zone %q", cfg.TimeZone))
		} else {
			e.loc = loc
		}
	}
	if cfg.Catalog != "" {
		dir, name, err := cfg.CatalogLocation()
		var cat *Catalog
		if err == nil {
			cat, err = LoadCatalog(dir, name)
		}
		if err != nil {
			errs = append(errs, cfg.Errorf("catalog", "%s: %v", cfg.Catalog, err))
		}
		e.catalog = cat
	}
	e.conversions = compileConversions(cfg.Conversions)

	index := map[string]int{}
	for i, s := range cfg.Segments {
		index[s.Name] = i
	}
	deps := make([][]int, len(cfg.Segments))
	e.segments = make([]*segment, len(cfg.Segments))
	for i, s := range cfg.Segments {
		path := "segments." + s.Name
		if envNames[s.Name] || isBuiltin(s.Name) || strings.HasPrefix(s.Name, "__") {
			errs = append(errs, cfg.Errorf(path, "segment name %q is already a name expressions use", s.Name))
		}
		c, err := e.compileExpr(s.When, index, "name")
		if err != nil {
			errs = append(errs, cfg.Errorf(path, "%v", err))
		}
		deps[i] = c.segments
		// A segment that reads the request answers per request: caching
		// it per profile would give a visitor on a phone the answer of
		// their desktop visit.
		e.segments[i] = &segment{name: s.Name, prog: c.prog, stable: !c.volatile && !c.contextual, contextual: c.contextual}
		e.browsing = e.browsing || c.browsing
		e.visit = e.visit || c.visit
	}
	if cycle := findCycle(deps); cycle != nil {
		names := make([]string, len(cycle))
		for i, c := range cycle {
			names[i] = cfg.Segments[c].Name
		}
		errs = append(errs, cfg.Errorf("segments."+names[0], "segments refer to each other in a cycle: %s", strings.Join(names, " → ")))
	} else {
		markUnstable(e.segments, deps)
	}
	for _, sg := range e.segments {
		e.hasStable = e.hasStable || sg.stable
	}

	for i, c := range cfg.Campaigns {
		path := fmt.Sprintf("campaigns[%d]", i)
		cp := &Campaign{ID: c.ID, Slot: c.Slot, Priority: c.Priority, index: i, tmpl: -1}
		if strings.TrimSpace(c.When) != "" {
			cc, err := e.compileExpr(c.When, index, "segment")
			if err != nil {
				errs = append(errs, cfg.Errorf(path+".when", "%v", err))
			}
			cp.when = cc.prog
			e.browsing = e.browsing || cc.browsing
			e.visit = e.visit || cc.visit
		}
		if strings.TrimSpace(c.Template) != "" {
			cp.tmpl = e.addTemplate(cfg, &errs, c.ID, path+".template", c.Template)
		}
		cp.sched = compileSchedule(c.Schedule, e.loc)
		if c.Cap != nil {
			cp.capMax = c.Cap.Max
			cp.capDays = int32((c.Cap.Window.D() + 24*time.Hour - 1) / (24 * time.Hour))
		}
		if c.Experiment != nil {
			cp.exp = compileExperiment(c.Experiment)
			for j, v := range c.Experiment.Variants {
				cv := cp.exp.variants[j]
				cv.tmpl = cp.tmpl
				if strings.TrimSpace(v.Template) != "" {
					cv.tmpl = e.addTemplate(cfg, &errs, c.ID+"/"+v.Name, fmt.Sprintf("%s.experiment.variants[%d].template", path, j), v.Template)
				}
			}
		}
		e.campaigns = append(e.campaigns, cp)
		e.bySlot[c.Slot] = append(e.bySlot[c.Slot], cp)
	}
	e.layers = compileLayers(e.campaigns, cfg.Salt)
	for _, list := range e.bySlot {
		sort.SliceStable(list, func(i, j int) bool {
			if list[i].Priority != list[j].Priority {
				return list[i].Priority > list[j].Priority
			}
			return list[i].ID < list[j].ID
		})
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}
	e.free = make(chan *Decision, maxIdleDecisions)
	if e.trial(cfg, &errs); len(errs) > 0 {
		return nil, errs
	}
	return e, nil
}

// addTemplate parses an offer template and tries it once on an empty
// profile, so that errors html/template only finds when it escapes (an
// action inside an attribute it cannot make safe, say) are config errors
// too. It returns the template's index.
func (e *Engine) addTemplate(cfg *config.Config, errs *config.Errors, name, path, src string) int {
	t, err := template.New(name).Option("missingkey=zero").Funcs(templateStubs).Parse(src)
	if err == nil {
		err = checkTemplate(t)
	}
	if err == nil {
		var trial *template.Template
		if trial, err = t.Clone(); err == nil {
			w := &appendWriter{limit: MaxOfferSize, deadline: time.Now().Add(time.Second)}
			err = trial.Execute(w, &offerData{Profile: &profile.Profile{}})
			if errors.Is(err, ErrOfferTooLarge) || errors.Is(err, ErrRenderTimeout) {
				err = nil // reported by Engine.trial, with the limits
			}
		}
	}
	if err != nil {
		*errs = append(*errs, cfg.Errorf(path, "%s", templateError(err)))
	}
	e.templates = append(e.templates, t)
	e.templatePaths = append(e.templatePaths, path)
	e.dated = append(e.dated, strings.Contains(src, "recommend"))
	return len(e.templates) - 1
}

// Campaigns returns the compiled campaigns in configuration order.
func (e *Engine) Campaigns() []*Campaign { return e.campaigns }

// ReadsVisit reports whether some expression reads visit.*: the caller
// then records where each session lands (profile.Profile.Landing).
func (e *Engine) ReadsVisit() bool { return e.visit }

// SegmentReadsRequest reports whether the segment named name reads the
// request (request, device, geo, visit or time), directly or through a
// segment it names: its members change from one request to the next.
func (e *Engine) SegmentReadsRequest(name string) bool {
	for _, s := range e.segments {
		if s.name == name {
			return s.contextual
		}
	}
	return false
}

// GlobalHoldoutShare returns the configured global holdout share.
func (e *Engine) GlobalHoldoutShare() float64 { return e.globalHoldout }

// Catalog returns the product catalog, nil when none is configured.
func (e *Engine) Catalog() *Catalog { return e.catalog }

// markUnstable spreads instability and request dependence through segment
// references: a segment that uses a time- or request-dependent one is so
// too. deps has no cycles.
func markUnstable(segs []*segment, deps [][]int) {
	for changed := true; changed; {
		changed = false
		for i, s := range segs {
			for _, d := range deps[i] {
				if s.stable && !segs[d].stable {
					s.stable, changed = false, true
				}
				if !s.contextual && segs[d].contextual {
					s.contextual, changed = true, true
				}
			}
		}
	}
}

// findCycle returns the segment indexes of one dependency cycle, first
// repeated at the end, or nil when there is none.
func findCycle(deps [][]int) []int {
	const (
		unseen = iota
		active
		done
	)
	state := make([]int, len(deps))
	var stack []int
	var found []int
	var visit func(int) bool
	visit = func(i int) bool {
		state[i] = active
		stack = append(stack, i)
		for _, d := range deps[i] {
			if state[d] == active {
				for k, s := range stack {
					if s == d {
						found = append(append([]int{}, stack[k:]...), d)
						return true
					}
				}
			}
			if state[d] == unseen && visit(d) {
				return true
			}
		}
		stack = stack[:len(stack)-1]
		state[i] = done
		return false
	}
	for i := range deps {
		if state[i] == unseen && visit(i) {
			return found
		}
	}
	return nil
}
