package decide

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/vm/runtime"
)

// Expressions are written by operators (and replicated to every node) but
// read values visitors write. No expression may take a node down, so every
// evaluation runs under a budget:
//
//   - expr's own memory budget (vm.VM.MemoryBudget) counts the elements of
//     ranges, arrays and maps it builds: exprMemoryBudget per evaluation;
//   - the string builtins that can multiply their input (repeat, replace,
//     join, split, splitAfter, string, and + on strings) are replaced by
//     versions that charge the bytes they would produce to exprByteBudget
//     and fail before allocating past it;
//   - every iteration of a predicate (all, any, map, filter, reduce, …)
//     charges one step to exprStepBudget, so nested loops over a range
//     cannot run for minutes;
//   - builtins that only serve to build large values (concat, flatten,
//     toJSON, fromJSON, toBase64, fromBase64) are refused at compile time,
//     as are string literals over maxStringLiteral bytes.
//
// An evaluation past a budget fails like any run-time error: the campaign is
// skipped and counted. Compile also tries every expression on sample
// profiles and refuses a document whose expressions exceed a budget there.
const (
	exprMemoryBudget = 100_000
	exprByteBudget   = 256 << 10
	exprStepBudget   = 10_000
	maxStringLiteral = 1024
	maxExprSource    = 8 << 10
)

// errExprBudget reports an evaluation past its budget.
var errExprBudget = errors.New("expression exceeds its evaluation budget")

// refusedBuiltins are expr builtins expressions may not call.
var refusedBuiltins = map[string]bool{
	"concat": true, "flatten": true, "toJSON": true, "fromJSON": true, "toBase64": true, "fromBase64": true,
}

// budgetedBuiltins are expr builtins replaced by Env functions that charge
// the evaluation's byte budget.
var budgetedBuiltins = map[string]string{
	"repeat": "__repeat", "replace": "__replace", "join": "__join", "split": "__split",
	"splitAfter": "__splitAfter", "string": "__string",
}

// budget is the per-evaluation account of a Decision.
type budget struct {
	bytes int
	steps int
}

func (b *budget) reset() { *b = budget{} }

func (b *budget) charge(n int) error {
	if n < 0 || n > exprByteBudget-b.bytes {
		return fmt.Errorf("%w: strings over %d bytes", errExprBudget, exprByteBudget)
	}
	b.bytes += n
	return nil
}

func (b *budget) step() (bool, error) {
	if b.steps++; b.steps > exprStepBudget {
		return false, fmt.Errorf("%w: over %d loop iterations", errExprBudget, exprStepBudget)
	}
	return true, nil
}

func argString(args []any, i int, fn string) (string, error) {
	if i >= len(args) {
		return "", fmt.Errorf("%s: not enough arguments", fn)
	}
	s, ok := args[i].(string)
	if !ok {
		return "", fmt.Errorf("%s: argument %d is %T, want a string", fn, i+1, args[i])
	}
	return s, nil
}

func argInt(args []any, i int, fn string) (int, error) {
	if i >= len(args) {
		return 0, fmt.Errorf("%s: not enough arguments", fn)
	}
	switch v := args[i].(type) {
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, float32, float64:
		return runtime.ToInt(v), nil
	}
	return 0, fmt.Errorf("%s: argument %d is %T, want a number", fn, i+1, args[i])
}

func (b *budget) repeat(args ...any) (any, error) {
	s, err := argString(args, 0, "repeat")
	if err != nil {
		return nil, err
	}
	n, err := argInt(args, 1, "repeat")
	if err != nil {
		return nil, err
	}
	if n < 0 {
		return nil, fmt.Errorf("repeat: negative count %d", n)
	}
	if len(s) > 0 && n > exprByteBudget/len(s) {
		return nil, fmt.Errorf("%w: repeat of %d bytes %d times", errExprBudget, len(s), n)
	}
	if err := b.charge(len(s) * n); err != nil {
		return nil, err
	}
	return strings.Repeat(s, n), nil
}

func (b *budget) replace(args ...any) (any, error) {
	s, err := argString(args, 0, "replace")
	if err != nil {
		return nil, err
	}
	old, err := argString(args, 1, "replace")
	if err != nil {
		return nil, err
	}
	repl, err := argString(args, 2, "replace")
	if err != nil {
		return nil, err
	}
	n := -1
	if len(args) > 3 {
		if n, err = argInt(args, 3, "replace"); err != nil {
			return nil, err
		}
	}
	// Count matches first (bounded by len(s)+1), then the size, in int64
	// so that the product cannot wrap.
	m := strings.Count(s, old)
	if n >= 0 && n < m {
		m = n
	}
	size := int64(len(s)) + int64(m)*(int64(len(repl))-int64(len(old)))
	if size > exprByteBudget {
		return nil, fmt.Errorf("%w: replace would make %d bytes", errExprBudget, size)
	}
	if err := b.charge(int(size)); err != nil {
		return nil, err
	}
	return strings.Replace(s, old, repl, n), nil
}

func (b *budget) join(args ...any) (any, error) {
	if len(args) < 1 || len(args) > 2 {
		return nil, errors.New("join: want an array and an optional separator")
	}
	sep := ""
	if len(args) == 2 {
		var err error
		if sep, err = argString(args, 1, "join"); err != nil {
			return nil, err
		}
	}
	v := reflect.ValueOf(args[0])
	if v.Kind() != reflect.Slice && v.Kind() != reflect.Array {
		return nil, fmt.Errorf("join: argument 1 is %T, want an array", args[0])
	}
	size := int64(0)
	parts := make([]string, v.Len())
	for i := range parts {
		s, ok := v.Index(i).Interface().(string)
		if !ok {
			return nil, fmt.Errorf("join: element %d is %T, want a string", i, v.Index(i).Interface())
		}
		parts[i] = s
		size += int64(len(s)) + int64(len(sep))
		if size > exprByteBudget {
			return nil, fmt.Errorf("%w: join would make over %d bytes", errExprBudget, exprByteBudget)
		}
	}
	if err := b.charge(int(size)); err != nil {
		return nil, err
	}
	return strings.Join(parts, sep), nil
}

func (b *budget) split(after bool) func(args ...any) (any, error) {
	name := "split"
	if after {
		name = "splitAfter"
	}
	return func(args ...any) (any, error) {
		s, err := argString(args, 0, name)
		if err != nil {
			return nil, err
		}
		sep, err := argString(args, 1, name)
		if err != nil {
			return nil, err
		}
		n := -1
		if len(args) > 2 {
			if n, err = argInt(args, 2, name); err != nil {
				return nil, err
			}
		}
		// Each part costs a string header besides its bytes.
		parts := len(s) + 1
		if sep != "" {
			parts = strings.Count(s, sep) + 1
		}
		if n >= 0 && n < parts {
			parts = n
		}
		if err := b.charge(len(s) + 16*parts); err != nil {
			return nil, err
		}
		var out []string
		if after {
			out = strings.SplitAfterN(s, sep, n)
		} else {
			out = strings.SplitN(s, sep, n)
		}
		res := make([]any, len(out))
		for i, p := range out {
			res[i] = p
		}
		return res, nil
	}
}

// str is string(x) for scalars; a collection's printed form could be
// many times its size, so it is refused.
func (b *budget) str(args ...any) (any, error) {
	if len(args) != 1 {
		return nil, errors.New("string: want one argument")
	}
	var s string
	switch v := args[0].(type) {
	case string:
		s = v
	case nil, bool, int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, float32, float64, time.Time, time.Duration:
		s = fmt.Sprintf("%v", v)
	default:
		return nil, fmt.Errorf("string: %T is not a number, string, boolean or time", v)
	}
	if err := b.charge(len(s)); err != nil {
		return nil, err
	}
	return s, nil
}

// add is + where an operand may be a string.
func (b *budget) add(x, y any) (any, error) {
	if s, ok := x.(string); ok {
		if t, ok := y.(string); ok {
			if err := b.charge(len(s) + len(t)); err != nil {
				return nil, err
			}
			return s + t, nil
		}
	}
	return runtime.Add(x, y), nil
}

// budgetPatcher rewrites an expression to run under the budget: budgeted
// builtins become calls of their Env replacements, + that may join strings
// becomes __add, and every predicate body first takes a step. It runs with
// types known (expr checks the tree before each patch).
type budgetPatcher struct{}

func (budgetPatcher) Visit(n *ast.Node) {
	switch v := (*n).(type) {
	case *ast.BuiltinNode:
		if name, ok := budgetedBuiltins[v.Name]; ok {
			ast.Patch(n, &ast.CallNode{Callee: &ast.IdentifierNode{Value: name}, Arguments: v.Arguments})
		}
	case *ast.CallNode:
		if id, ok := v.Callee.(*ast.IdentifierNode); ok {
			if name, ok := budgetedBuiltins[id.Value]; ok {
				ast.Patch(n, &ast.CallNode{Callee: &ast.IdentifierNode{Value: name}, Arguments: v.Arguments})
			}
		}
	case *ast.BinaryNode:
		if v.Operator == "+" && (mayBeString(v.Left) || mayBeString(v.Right)) {
			ast.Patch(n, &ast.CallNode{Callee: &ast.IdentifierNode{Value: "__add"}, Arguments: []ast.Node{v.Left, v.Right}})
		}
	case *ast.PredicateNode:
		if seq, ok := v.Node.(*ast.SequenceNode); ok && len(seq.Nodes) == 2 && isStep(seq.Nodes[0]) {
			return
		}
		v.Node = &ast.SequenceNode{Nodes: []ast.Node{
			&ast.CallNode{Callee: &ast.IdentifierNode{Value: "__step"}},
			v.Node,
		}}
	}
}

func isStep(n ast.Node) bool {
	c, ok := n.(*ast.CallNode)
	if !ok {
		return false
	}
	id, ok := c.Callee.(*ast.IdentifierNode)
	return ok && id.Value == "__step"
}

// mayBeString reports a node whose type is a string or not known before
// run time.
func mayBeString(n ast.Node) bool {
	t := n.Type()
	return t == nil || t.Kind() == reflect.String || t.Kind() == reflect.Interface
}
