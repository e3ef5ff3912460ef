package decide

import (
	"errors"
	"fmt"
	"html/template"
	"sort"
	"strings"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/builtin"
	"github.com/expr-lang/expr/parser"
	"github.com/expr-lang/expr/vm"

	"github.com/marquee-proxy/marquee/config"
)

// maxExprNodes bounds the size of one compiled expression.
const maxExprNodes = 1000

// Engine is the compiled, read-only form of a configuration's segments and
// campaigns. It is safe for concurrent use.
type Engine struct {
	segments  []*segment
	campaigns []*Campaign
	bySlot    map[string][]*Campaign
	loc       *time.Location
	offers    *offerCache
}

// offerCacheEntries bounds the rendered offers an Engine remembers.
const offerCacheEntries = 1 << 16

type segment struct {
	name string
	prog *vm.Program
}

// Campaign is one compiled campaign.
type Campaign struct {
	// ID identifies the campaign.
	ID string
	// Slot is the slot it fills.
	Slot string
	// Priority orders campaigns of one slot; highest wins.
	Priority int

	when *vm.Program
	tmpl *template.Template
}

// Compile compiles the segments and campaigns of cfg. Every problem is
// reported, each located in the file through cfg, as a config.Errors.
func Compile(cfg *config.Config) (*Engine, error) {
	e := &Engine{bySlot: map[string][]*Campaign{}, loc: time.UTC, offers: newOfferCache(offerCacheEntries)}
	var errs config.Errors
	if cfg.TimeZone != "" {
		loc, err := time.LoadLocation(cfg.TimeZone)
		if err != nil {
			errs = append(errs, cfg.Errorf("time_zone", "unknown time zone %q", cfg.TimeZone))
		} else {
			e.loc = loc
		}
	}

	index := map[string]int{}
	for i, s := range cfg.Segments {
		index[s.Name] = i
	}
	deps := make([][]int, len(cfg.Segments))
	e.segments = make([]*segment, len(cfg.Segments))
	for i, s := range cfg.Segments {
		path := "segments." + s.Name
		prog, used, err := compileExpr(s.When, index, "name")
		if err != nil {
			errs = append(errs, cfg.Errorf(path, "%v", err))
		}
		deps[i] = used
		e.segments[i] = &segment{name: s.Name, prog: prog}
	}
	if cycle := findCycle(deps); cycle != nil {
		names := make([]string, len(cycle))
		for i, c := range cycle {
			names[i] = cfg.Segments[c].Name
		}
		errs = append(errs, cfg.Errorf("segments."+names[0], "segments refer to each other in a cycle: %s", strings.Join(names, " → ")))
	}

	for i, c := range cfg.Campaigns {
		path := fmt.Sprintf("campaigns[%d]", i)
		cp := &Campaign{ID: c.ID, Slot: c.Slot, Priority: c.Priority}
		if strings.TrimSpace(c.When) != "" {
			prog, _, err := compileExpr(c.When, index, "segment")
			if err != nil {
				errs = append(errs, cfg.Errorf(path+".when", "%v", err))
			}
			cp.when = prog
		}
		tmpl, err := template.New(c.ID).Option("missingkey=zero").Parse(c.Template)
		if err != nil {
			errs = append(errs, cfg.Errorf(path+".template", "%s", templateError(err)))
		}
		cp.tmpl = tmpl
		e.campaigns = append(e.campaigns, cp)
		e.bySlot[c.Slot] = append(e.bySlot[c.Slot], cp)
	}
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
	return e, nil
}

// Campaigns returns the compiled campaigns in configuration order.
func (e *Engine) Campaigns() []*Campaign { return e.campaigns }

// compileExpr compiles src to a boolean program. Segment names used as
// identifiers become calls to Env.Seg with the segment's index, so that
// evaluation is memoised per request; used returns those indexes.
// unknown names what an unknown identifier is called in the error.
func compileExpr(src string, segments map[string]int, unknown string) (*vm.Program, []int, error) {
	tree, err := parser.Parse(src)
	if err != nil {
		return nil, nil, exprError(err)
	}
	declared := map[string]bool{}
	ast.Walk(&tree.Node, visitorFunc(func(n *ast.Node) {
		if v, ok := (*n).(*ast.VariableDeclaratorNode); ok {
			declared[v.Name] = true
		}
	}))
	var bad []string
	var used []int
	ast.Walk(&tree.Node, visitorFunc(func(n *ast.Node) {
		if name, ok := inSegmentArg(*n); ok {
			if !hasKey(segments, name) {
				bad = append(bad, name)
				return
			}
			used = append(used, segments[name])
		}
		id, ok := (*n).(*ast.IdentifierNode)
		if !ok {
			return
		}
		name := id.Value
		switch {
		case strings.HasPrefix(name, "__"):
			bad = append(bad, name)
		case declared[name] || envNames[name]:
		case hasKey(segments, name):
			used = append(used, segments[name])
		case isBuiltin(name):
		default:
			bad = append(bad, name)
		}
	}))
	if len(bad) > 0 {
		return nil, used, fmt.Errorf("unknown %s %q", unknown, bad[0])
	}
	prog, err := expr.Compile(src,
		expr.Env(Env{}),
		expr.AsBool(),
		expr.MaxNodes(maxExprNodes),
		expr.Patch(segmentPatcher(segments)),
	)
	if err != nil {
		return nil, used, exprError(err)
	}
	return prog, used, nil
}

// segmentPatcher turns a segment name into a call of the memoised Env.Seg.
type segmentPatcher map[string]int

// A call in_segment("name") with a constant name is patched the same way.
func (p segmentPatcher) Visit(n *ast.Node) {
	name, ok := inSegmentArg(*n)
	if !ok {
		id, isID := (*n).(*ast.IdentifierNode)
		if !isID {
			return
		}
		name = id.Value
	}
	if !hasKey(p, name) {
		return
	}
	ast.Patch(n, &ast.CallNode{
		Callee:    &ast.IdentifierNode{Value: "__seg"},
		Arguments: []ast.Node{&ast.IntegerNode{Value: p[name]}},
	})
}

// inSegmentArg returns the constant segment name of an in_segment("name")
// call.
func inSegmentArg(n ast.Node) (string, bool) {
	call, ok := n.(*ast.CallNode)
	if !ok || len(call.Arguments) != 1 {
		return "", false
	}
	if id, ok := call.Callee.(*ast.IdentifierNode); !ok || id.Value != "in_segment" {
		return "", false
	}
	s, ok := call.Arguments[0].(*ast.StringNode)
	if !ok {
		return "", false
	}
	return s.Value, true
}

type visitorFunc func(*ast.Node)

func (f visitorFunc) Visit(n *ast.Node) { f(n) }

func hasKey(m map[string]int, k string) bool { _, ok := m[k]; return ok }

func isBuiltin(name string) bool {
	_, ok := builtin.Index[name]
	return ok || name == "true" || name == "false" || name == "nil"
}

// exprError reduces expr's multi-line error (which quotes the source with a
// caret) to its first line.
func exprError(err error) error {
	msg := err.Error()
	if i := strings.IndexByte(msg, '\n'); i >= 0 {
		msg = msg[:i]
	}
	return errors.New(msg)
}

func templateError(err error) string {
	msg := err.Error()
	msg = strings.TrimPrefix(msg, "template: ")
	return "template does not parse: " + msg
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
