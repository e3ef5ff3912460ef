package config

import (
	"fmt"
	"sort"
	"strings"
)

// FieldError is one problem in a configuration file, located by line and
// field path. It prints as "FILE:LINE: PATH: message".
type FieldError struct {
	// File is the configuration file's name as given to Load or Parse.
	File string
	// Line is the 1-based line of the offending value; 0 when unknown.
	Line int
	// Path names the field, e.g. "campaigns[0].when".
	Path string
	// Msg says what is wrong, naming the offending value.
	Msg string
}

func (e *FieldError) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		b.WriteByte(':')
	}
	if e.Line > 0 {
		fmt.Fprintf(&b, "%d:", e.Line)
	}
	if b.Len() > 0 {
		b.WriteByte(' ')
	}
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errors is every problem found in one configuration, in file order.
type Errors []*FieldError

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Err returns es sorted by line as an error, or nil when es is empty.
func (es Errors) Err() error {
	if len(es) == 0 {
		return nil
	}
	sort.SliceStable(es, func(i, j int) bool { return es[i].Line < es[j].Line })
	return es
}

// Errorf returns a FieldError for the field at path, located at the line
// that field (or its nearest enclosing field) was written on. Packages that
// compile parts of the configuration use it to report what they reject.
func (c *Config) Errorf(path, format string, args ...any) *FieldError {
	return &FieldError{File: c.file, Line: c.Line(path), Path: path, Msg: fmt.Sprintf(format, args...)}
}

// Line returns the line the field at path was written on, or the line of
// its nearest enclosing field, or 0 when none of them came from the file.
func (c *Config) Line(path string) int {
	for path != "" {
		if l, ok := c.pos[path]; ok {
			return l
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			break
		}
		path = path[:i]
	}
	return 0
}

// Merge returns es followed by the problems of later, a later phase of
// checking, except those about a field es already reports on, or a field
// inside or around it: a value that did not decode or validate would only
// fail again, differently, when compiled, and the second message would
// hide the first. A problem of es without a field path (the file is not a
// mapping) covers every field.
func (es Errors) Merge(later Errors) Errors {
	out := es
	for _, e := range later {
		if !es.covers(e.Path) {
			out = append(out, e)
		}
	}
	return out
}

// covers reports whether es holds a problem about path, a field inside it,
// or a field around it.
func (es Errors) covers(path string) bool {
	for _, e := range es {
		if e.Path == "" || (path != "" && (within(path, e.Path) || within(e.Path, path))) {
			return true
		}
	}
	return false
}

// within reports whether path is outer or a field inside it.
func within(path, outer string) bool {
	if !strings.HasPrefix(path, outer) {
		return false
	}
	return len(path) == len(outer) || path[len(outer)] == '.' || path[len(outer)] == '['
}
