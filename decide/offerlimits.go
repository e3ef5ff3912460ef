package decide

import (
	"errors"
	"fmt"
	"html/template"
	"strconv"
	tparse "text/template/parse"
)

// checkTemplate refuses offer templates whose work no output bounds:
// {{define}}, {{block}} and {{template}} (mutual calls can expand
// exponentially without writing a byte), and nested {{range N}} over
// constants whose iterations multiply past maxTemplateRange. Everything else
// writes as it works or ranges over profile data, and is bounded at run time
// by MaxOfferSize and MaxRenderTime.
func checkTemplate(t *template.Template) error {
	if len(t.Templates()) > 1 {
		return errors.New("{{define}}, {{block}} and {{template}} are not available in offer templates")
	}
	if t.Tree == nil || t.Tree.Root == nil {
		return nil
	}
	return checkNode(t.Tree.Root, 1)
}

func checkNode(n tparse.Node, iterations int) error {
	switch n := n.(type) {
	case *tparse.ListNode:
		if n == nil {
			return nil
		}
		for _, c := range n.Nodes {
			if err := checkNode(c, iterations); err != nil {
				return err
			}
		}
	case *tparse.TemplateNode:
		return errors.New("{{template}} is not available in offer templates")
	case *tparse.IfNode:
		return checkBranch(&n.BranchNode, iterations)
	case *tparse.WithNode:
		return checkBranch(&n.BranchNode, iterations)
	case *tparse.RangeNode:
		if k, ok := constRange(n.Pipe); ok {
			if k > maxTemplateRange || iterations*k > maxTemplateRange {
				return fmt.Errorf("{{range %d}}: nested ranges over constants may repeat at most %d times in all", k, maxTemplateRange)
			}
			iterations *= max(k, 1)
		}
		return checkBranch(&n.BranchNode, iterations)
	}
	return nil
}

func checkBranch(b *tparse.BranchNode, iterations int) error {
	if err := checkNode(b.List, iterations); err != nil {
		return err
	}
	if b.ElseList != nil {
		return checkNode(b.ElseList, iterations)
	}
	return nil
}

// constRange returns N of a {{range N}} over an integer constant.
func constRange(p *tparse.PipeNode) (int, bool) {
	if p == nil || len(p.Cmds) != 1 || len(p.Cmds[0].Args) != 1 {
		return 0, false
	}
	num, ok := p.Cmds[0].Args[0].(*tparse.NumberNode)
	if !ok {
		return 0, false
	}
	if num.IsInt {
		if num.Int64 > maxTemplateRange {
			return maxTemplateRange + 1, true
		}
		return int(num.Int64), true
	}
	if k, err := strconv.ParseFloat(num.Text, 64); err == nil && k > maxTemplateRange {
		return maxTemplateRange + 1, true
	}
	return 0, false
}
