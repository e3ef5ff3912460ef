package decide

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/builtin"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/parser"
	"github.com/expr-lang/expr/vm"

	"github.com/marquee-proxy/marquee/config"
)

// compiledExpr is a compiled condition and what it reads.
type compiledExpr struct {
	prog     *vm.Program
	segments []int // segments it uses
	volatile bool  // it reads something that changes with time
	browsing bool  // it reads browsing_category
	// contextual: it reads the request (request, device, geo, visit,
	// time), so its value is never cached per profile.
	contextual bool
	visit      bool // it reads visit.*
}

// volatileNames are the names whose value changes with the clock.
var volatileNames = map[string]bool{
	"views": true, "since": true, "purchases": true, "now": true, "date": true, "browsing_category": true,
}

// compileExpr compiles src to a boolean program. Segment names used as
// identifiers become calls to Env.Seg with the segment's index, so that
// evaluation is memoised per request; used returns those indexes.
// unknown names what an unknown identifier is called in the error.
func (e *Engine) compileExpr(src string, segments map[string]int, unknown string) (compiledExpr, error) {
	var out compiledExpr
	if len(src) > maxExprSource {
		return out, fmt.Errorf("expression of %d bytes; at most %d", len(src), maxExprSource)
	}
	es := newExprSource(src)
	src = es.src
	tree, err := parser.Parse(src)
	if err != nil {
		return out, es.wrap(err)
	}
	declared := map[string]bool{}
	ast.Walk(&tree.Node, visitorFunc(func(n *ast.Node) {
		if v, ok := (*n).(*ast.VariableDeclaratorNode); ok {
			declared[v.Name] = true
		}
	}))
	var bad, refused []string
	var used, long []int
	badAt := -1 // where the first bad name is
	var ctxErr error
	ast.Walk(&tree.Node, visitorFunc(func(n *ast.Node) {
		if err := checkCtxName(*n, declared, &out); err != nil && ctxErr == nil {
			ctxErr = err
		}
		if name, ok := inSegmentArg(*n); ok {
			if !hasKey(segments, name) {
				if len(bad) == 0 {
					badAt = (*n).(*ast.CallNode).Arguments[0].Location().From
				}
				bad = append(bad, name)
				return
			}
			used = append(used, segments[name])
		} else if call, ok := (*n).(*ast.CallNode); ok {
			if id, ok := call.Callee.(*ast.IdentifierNode); ok && id.Value == "in_segment" {
				// A name computed at run time may reach any segment,
				// time-dependent ones too.
				out.volatile = true
			}
		}
		if call, ok := (*n).(*ast.BuiltinNode); ok && volatileNames[call.Name] {
			out.volatile = true
		}
		if name, ok := calledName(*n); ok && refusedBuiltins[name] {
			refused = append(refused, name)
		}
		if s, ok := (*n).(*ast.StringNode); ok && len(s.Value) > maxStringLiteral {
			long = append(long, len(s.Value))
		}

		id, ok := (*n).(*ast.IdentifierNode)
		if !ok {
			return
		}
		name := id.Value
		out.volatile = out.volatile || volatileNames[name]
		out.browsing = out.browsing || name == "browsing_category"
		known := false
		switch {
		case strings.HasPrefix(name, "__"):
		case declared[name] || envNames[name]:
			known = true
		case hasKey(segments, name):
			known = true
			used = append(used, segments[name])
		case isBuiltin(name):
			known = true
		}
		if !known {
			if len(bad) == 0 {
				badAt = id.Location().From
			}
			bad = append(bad, name)
		}
	}))
	out.segments = used
	if ctxErr == nil {
		ctxErr = checkBareCtx(tree.Node, declared)
	}
	if ctxErr != nil {
		return out, es.errorf(-1, "%v", ctxErr)
	}
	if len(bad) > 0 {
		return out, es.errorf(badAt, "unknown %s %q%s", unknown, bad[0], knownSegments(unknown, segments))
	}
	if len(refused) > 0 {
		return out, es.errorf(-1, "%s() is not available in expressions: it can build values too large to evaluate safely", refused[0])
	}
	if len(long) > 0 {
		return out, es.errorf(-1, "string literal of %d bytes; at most %d", long[0], maxStringLiteral)
	}
	prog, err := expr.Compile(src,
		expr.Env(Env{}),
		expr.AsBool(),
		expr.MaxNodes(maxExprNodes),
		expr.Patch(segmentPatcher{segments: segments, declared: declared}),
		expr.Patch(ctxPatcher{declared: declared}),
		expr.Patch(viewsPatcher{e}),
		expr.Patch(budgetPatcher{}),
	)
	if err != nil {
		return out, es.wrap(err)
	}
	out.prog = prog
	return out, nil
}

// checkCtxName checks a use of a request context name in n and notes it
// in out. A root such as device is only a name with a field after it:
// device.type, never device alone or device.colour.
func checkCtxName(n ast.Node, declared map[string]bool, out *compiledExpr) error {
	switch n := n.(type) {
	case *ast.CallNode:
		if root, prop, ok := ctxMember(n.Callee, declared); ok && ctxMethods[root][prop] {
			if len(n.Arguments) != 1 {
				return fmt.Errorf("%s.%s takes one argument, the parameter's name", root, prop)
			}
			switch n.Arguments[0].(type) {
			case *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode, *ast.NilNode, *ast.ArrayNode, *ast.MapNode:
				return fmt.Errorf("%s.%s takes the parameter's name, a string", root, prop)
			}
		}
	case *ast.MemberNode:
		root, prop, ok := ctxMember(n, declared)
		if !ok {
			if _, isID := n.Node.(*ast.IdentifierNode); !isID {
				if inner, ok := n.Node.(*ast.MemberNode); ok {
					if root, _, ok := ctxMember(inner, declared); ok {
						return fmt.Errorf("%s has no nested fields; known: %s", root, ctxFieldList(root))
					}
				}
			}
			return nil
		}
		out.contextual = true
		out.visit = out.visit || root == "visit"
		if _, known := ctxNames[root][prop]; !known && !ctxMethods[root][prop] {
			return fmt.Errorf("unknown name %q; known: %s", root+"."+prop, ctxFieldList(root))
		}
		if ctxMethods[root][prop] && !n.Method {
			return fmt.Errorf("%s.%s is called: %s.%s(\"NAME\")", root, prop, root, prop)
		}
	}
	return nil
}

// checkBareCtx reports a context root used without a field, e.g. device
// alone, or a method called as a value.
func checkBareCtx(tree ast.Node, declared map[string]bool) error {
	fields := map[*ast.IdentifierNode]bool{}
	ast.Walk(&tree, visitorFunc(func(n *ast.Node) {
		if m, ok := (*n).(*ast.MemberNode); ok {
			if id, ok := m.Node.(*ast.IdentifierNode); ok {
				fields[id] = true
			}
		}
	}))
	var err error
	ast.Walk(&tree, visitorFunc(func(n *ast.Node) {
		id, ok := (*n).(*ast.IdentifierNode)
		if ok && err == nil && ctxNames[id.Value] != nil && !declared[id.Value] && !fields[id] {
			err = fmt.Errorf("%s is not a value; use one of %s", id.Value, ctxFieldList(id.Value))
		}
	}))
	return err
}

// viewKey is a views call with constant arguments.
type viewKey struct {
	category string
	days     int32
}

// viewsPatcher turns views("category", "7d") with constant arguments into
// a call of Env.ViewsK with the pair's index: the window is parsed once,
// here, and expr calls a func(int) int without reflection.
type viewsPatcher struct{ e *Engine }

func (p viewsPatcher) Visit(n *ast.Node) {
	call, ok := (*n).(*ast.CallNode)
	if !ok || len(call.Arguments) != 2 {
		return
	}
	if id, ok := call.Callee.(*ast.IdentifierNode); !ok || id.Value != "views" {
		return
	}
	cat, ok1 := call.Arguments[0].(*ast.StringNode)
	win, ok2 := call.Arguments[1].(*ast.StringNode)
	if !ok1 || !ok2 {
		return
	}
	d, err := config.ParseDuration(win.Value)
	if err != nil || d <= 0 {
		return // left to the runtime call, which counts nothing
	}
	k := viewKey{cat.Value, int32((d.D() + 24*time.Hour - 1) / (24 * time.Hour))}
	i := slices.Index(p.e.viewKeys, k)
	if i < 0 {
		i = len(p.e.viewKeys)
		p.e.viewKeys = append(p.e.viewKeys, k)
	}
	ast.Patch(n, &ast.CallNode{
		Callee:    &ast.IdentifierNode{Value: "__views"},
		Arguments: []ast.Node{&ast.IntegerNode{Value: i}},
	})
}

// segmentPatcher turns a segment name into a call of the memoised Env.Seg;
// a name the expression declares with let is the variable, not the
// segment.
type segmentPatcher struct {
	segments map[string]int
	declared map[string]bool
}

// A call in_segment("name") with a constant name is patched the same way.
func (p segmentPatcher) Visit(n *ast.Node) {
	name, ok := inSegmentArg(*n)
	if !ok {
		id, isID := (*n).(*ast.IdentifierNode)
		if !isID || p.declared[id.Value] {
			return
		}
		name = id.Value
	}
	if !hasKey(p.segments, name) {
		return
	}
	ast.Patch(n, &ast.CallNode{
		Callee:    &ast.IdentifierNode{Value: "__seg"},
		Arguments: []ast.Node{&ast.IntegerNode{Value: p.segments[name]}},
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

// calledName returns the name of the function a call node calls.
func calledName(n ast.Node) (string, bool) {
	switch c := n.(type) {
	case *ast.BuiltinNode:
		return c.Name, true
	case *ast.CallNode:
		if id, ok := c.Callee.(*ast.IdentifierNode); ok {
			return id.Value, true
		}
	}
	return "", false
}

type visitorFunc func(*ast.Node)

func (f visitorFunc) Visit(n *ast.Node) { f(n) }

func hasKey(m map[string]int, k string) bool { _, ok := m[k]; return ok }

func isBuiltin(name string) bool {
	_, ok := builtin.Index[name]
	return ok || name == "true" || name == "false" || name == "nil"
}

// maxQuotedExpr bounds how much of an expression an error quotes.
const maxQuotedExpr = 100

// exprSource is an expression as the operator wrote it and as compiled
// (rewritePlain's output), with the map between the two, so that errors
// quote what was written and point into it.
type exprSource struct {
	orig, src string
	from      []int // for each byte of src, its offset in orig
}

func newExprSource(orig string) exprSource {
	src, from := rewritePlainMap(orig)
	return exprSource{orig: orig, src: src, from: from}
}

// errorf returns an error naming the expression and, when pos (a rune
// index into src, as expr's positions are) is not negative, the line and
// column it points at in the expression as written.
func (s exprSource) errorf(pos int, format string, args ...any) error {
	q := s.orig
	if utf8.RuneCountInString(q) > maxQuotedExpr {
		q = string([]rune(q)[:maxQuotedExpr-1]) + "…"
	}
	msg := strings.TrimSpace(fmt.Sprintf(format, args...))
	if pos < 0 {
		return fmt.Errorf("%q: %s", q, msg)
	}
	line, col := s.position(pos)
	if strings.Contains(strings.TrimSpace(s.orig), "\n") {
		return fmt.Errorf("%q at line %d, column %d: %s", q, line, col, msg)
	}
	return fmt.Errorf("%q at column %d: %s", q, col, msg)
}

// position turns a rune index into src into a 1-based line and column of
// orig.
func (s exprSource) position(pos int) (line, col int) {
	b := len(s.src)
	for i := range s.src {
		if pos == 0 {
			b = i
			break
		}
		pos--
	}
	o := len(s.orig)
	if b < len(s.from) {
		o = s.from[b]
	}
	before := s.orig[:o]
	line = 1 + strings.Count(before, "\n")
	if i := strings.LastIndexByte(before, '\n'); i >= 0 {
		before = before[i+1:]
	}
	return line, utf8.RuneCountInString(before) + 1
}

// wrap turns an error of expr's parser or compiler into one from errorf:
// its message without the source excerpt expr appends, at its position.
func (s exprSource) wrap(err error) error {
	var fe *file.Error
	if errors.As(err, &fe) {
		return s.errorf(fe.From, "%s", fe.Message)
	}
	msg := err.Error()
	if i := strings.IndexByte(msg, '\n'); i >= 0 {
		msg = msg[:i]
	}
	return s.errorf(-1, "%s", msg)
}

// knownSegments lists the segment names for an unknown segment error, or
// returns "" for another kind of unknown name.
func knownSegments(unknown string, segments map[string]int) string {
	if unknown != "segment" {
		return ""
	}
	if len(segments) == 0 {
		return "; no segments are defined"
	}
	names := make([]string, 0, len(segments))
	for n := range segments {
		names = append(names, n)
	}
	slices.Sort(names)
	if len(names) > maxListedSegments {
		names = append(names[:maxListedSegments], "…")
	}
	return "; segments: " + strings.Join(names, ", ")
}

// maxListedSegments bounds the segment names an unknown segment error
// lists.
const maxListedSegments = 20
