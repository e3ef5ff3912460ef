package decide

import (
	"reflect"
	"regexp"
	"strings"

	"github.com/marquee-proxy/marquee/profile"
)

var (
	// templateLoc is the location text/template puts first in its
	// errors: "template: NAME:LINE:COL: " (COL only when executing).
	templateLoc = regexp.MustCompile(`^template: [^:]*:(\d+)(?::\d+)?: `)
	// templateExec is the rest of an execution error.
	templateExec = regexp.MustCompile(`^executing "[^"]*" at <(.*)>: (.*)$`)
	// templateField is the message of an execution error about a field
	// the value does not have.
	templateField = regexp.MustCompile(`^can't evaluate field (\S+) in type (\S+)$`)
)

// templateTypes are the types an offer template can reach from its dot,
// by the name an execution error gives them (e.g. "*profile.Profile").
var templateTypes = func() map[string]reflect.Type {
	m := map[string]reflect.Type{}
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Map || t.Kind() == reflect.Array {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct || m[t.String()] != nil {
			return
		}
		m[t.String()] = t
		m[reflect.PointerTo(t).String()] = t
		for i := range t.NumField() {
			if f := t.Field(i); f.IsExported() {
				walk(f.Type)
			}
		}
	}
	walk(reflect.TypeFor[offerData]())
	walk(reflect.TypeFor[Product]()) // what recommend returns
	return m
}()

// templateError describes a template problem for an operator: the line in
// the template, the action at fault, and for a field that does not exist,
// the fields that do, named as templates write them rather than as Go
// types.
func templateError(err error) string {
	msg := err.Error()
	line := ""
	if m := templateLoc.FindStringSubmatch(msg); m != nil {
		line = "line " + m[1] + ": "
		msg = msg[len(m[0]):]
	} else {
		msg = strings.TrimPrefix(msg, "template: ")
	}
	m := templateExec.FindStringSubmatch(msg)
	if m == nil {
		return "template does not parse: " + line + msg
	}
	action, reason := m[1], m[2]
	if f := templateField.FindStringSubmatch(reason); f != nil {
		reason = fieldMessage(f[1], f[2])
	}
	return "template: " + line + "{{" + action + "}}: " + reason
}

// fieldMessage says that the value of Go type typeName has no field
// field, and lists those it has.
func fieldMessage(field, typeName string) string {
	t, ok := templateTypes[typeName]
	if !ok {
		name := strings.TrimLeft(typeName, "*[]")
		if i := strings.LastIndexByte(name, '.'); i >= 0 {
			name = name[i+1:]
		}
		return name + " has no field \"" + field + "\""
	}
	owner := t.Name() + " has"
	if t == reflect.TypeFor[offerData]() {
		owner = "an offer template sees"
	}
	return owner + " no field \"" + field + "\"; " + fieldList(t)
}

// mergeFields are the Profile fields that keep the fleet's merge
// bookkeeping: templates can read them, but listing them would send an
// operator looking for a field among per-node counters and clocks.
var mergeFields = map[string]bool{
	"Caps": true, "Stamps": true, "NodeViews": true, "NodeCustom": true,
	"NodeSessions": true, "Version": true, "Born": true, "Node": true,
}

// fieldList lists the exported fields of struct type t, less a Profile's
// merge bookkeeping.
func fieldList(t reflect.Type) string {
	var names []string
	isProfile := t == reflect.TypeFor[profile.Profile]()
	for i := range t.NumField() {
		if f := t.Field(i); f.IsExported() && !(isProfile && mergeFields[f.Name]) {
			names = append(names, f.Name)
		}
	}
	if len(names) == 0 {
		// time.Time: only methods, such as .Format "2006-01-02".
		return "it has methods only, such as .Format"
	}
	return "fields: " + strings.Join(names, ", ")
}
