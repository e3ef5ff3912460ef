package decide

import (
	"sort"
	"strings"
	"time"

	"github.com/expr-lang/expr/ast"

	"github.com/marquee-proxy/marquee/profile"
)

// Context is what a decision may read of the request being served, beyond
// the stored profile: its URL, the device and the place it comes from.
// Package decide knows nothing about HTTP; the caller (package personalize)
// implements Context over the request.
//
// A Decision calls each method at most once, and only when an expression
// reads one of its names (or, for Request, when an offer calls recommend,
// which leaves out the product whose page it is), on the request's
// goroutine, between SetContext and Release. Strings returned may alias the request's buffers: the Decision
// does not keep them past Release, and expressions produce only booleans.
type Context interface {
	// Request returns the request's path (without the query), host and
	// Referer.
	Request() RequestInfo
	// Query returns the first value of the query parameter name, "" when
	// absent.
	Query(name string) string
	// Device returns what the User-Agent says about the visitor's device.
	Device() DeviceInfo
	// Geo returns where the request comes from.
	Geo() GeoInfo
}

// RequestInfo is what expressions see as request.path, request.host and
// request.referrer.
type RequestInfo struct {
	Path, Host, Referrer string
}

// DeviceInfo is what expressions see as device.type ("mobile", "tablet",
// "desktop" or "bot"), device.os and device.browser (lower case, "" when
// unknown).
type DeviceInfo struct {
	Type, OS, Browser string
}

// GeoInfo is what expressions see as geo.country (ISO 3166-1 alpha-2, upper
// case), geo.region (the ISO 3166-2 subdivision code without the country
// part) and geo.city (English name); "" when unknown.
type GeoInfo struct {
	Country, Region, City string
}

// ctxField is one name of the request context, such as device.type.
type ctxField uint8

const (
	ctxRequestPath ctxField = iota
	ctxRequestHost
	ctxRequestReferrer
	ctxDeviceType
	ctxDeviceOS
	ctxDeviceBrowser
	ctxGeoCountry
	ctxGeoRegion
	ctxGeoCity
	ctxVisitNew
	ctxVisitCount
	ctxVisitLanding
	ctxTimeHour
	ctxTimeWeekday
	numCtxFields
)

// ctxGroup is the part of the context a field comes from; a Decision asks
// its Context for each group once, when first read.
type ctxGroup uint8

const (
	groupRequest ctxGroup = 1 << iota
	groupDevice
	groupGeo
	groupVisit
	groupTime
)

// ctxKind is how a field's value is typed in expressions.
type ctxKind uint8

const (
	kindString ctxKind = iota
	kindBool
	kindInt
)

type ctxFieldInfo struct {
	group ctxGroup
	kind  ctxKind
}

// ctxNames maps each context root (request, device, …) to its fields. The
// roots are names of their own in expressions: a segment cannot take them.
var ctxNames = map[string]map[string]ctxField{
	"request": {"path": ctxRequestPath, "host": ctxRequestHost, "referrer": ctxRequestReferrer},
	"device":  {"type": ctxDeviceType, "os": ctxDeviceOS, "browser": ctxDeviceBrowser},
	"geo":     {"country": ctxGeoCountry, "region": ctxGeoRegion, "city": ctxGeoCity},
	"visit":   {"new": ctxVisitNew, "count": ctxVisitCount, "landing": ctxVisitLanding},
	"time":    {"hour": ctxTimeHour, "weekday": ctxTimeWeekday},
}

// ctxMethods are the context names that are called, like
// request.query("utm_source").
var ctxMethods = map[string]map[string]bool{"request": {"query": true}}

var ctxInfo = [numCtxFields]ctxFieldInfo{
	ctxRequestPath:     {groupRequest, kindString},
	ctxRequestHost:     {groupRequest, kindString},
	ctxRequestReferrer: {groupRequest, kindString},
	ctxDeviceType:      {groupDevice, kindString},
	ctxDeviceOS:        {groupDevice, kindString},
	ctxDeviceBrowser:   {groupDevice, kindString},
	ctxGeoCountry:      {groupGeo, kindString},
	ctxGeoRegion:       {groupGeo, kindString},
	ctxGeoCity:         {groupGeo, kindString},
	ctxVisitNew:        {groupVisit, kindBool},
	ctxVisitCount:      {groupVisit, kindInt},
	ctxVisitLanding:    {groupVisit | groupRequest, kindString},
	ctxTimeHour:        {groupTime, kindInt},
	ctxTimeWeekday:     {groupTime, kindString},
}

// ctxFieldList returns root's fields for an error message, sorted.
func ctxFieldList(root string) string {
	var names []string
	for f := range ctxNames[root] {
		names = append(names, root+"."+f)
	}
	for m := range ctxMethods[root] {
		names = append(names, root+"."+m+"(NAME)")
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// ctxMember returns the field a member access such as device.type names.
// ok is false when n is not a member access of a context root; known is
// false when it is one but of no such field.
func ctxMember(n ast.Node, declared map[string]bool) (root, prop string, ok bool) {
	m, isMember := n.(*ast.MemberNode)
	if !isMember {
		return "", "", false
	}
	id, isID := m.Node.(*ast.IdentifierNode)
	if !isID || ctxNames[id.Value] == nil || declared[id.Value] {
		return "", "", false
	}
	if s, isStr := m.Property.(*ast.StringNode); isStr {
		prop = s.Value
	}
	return id.Value, prop, true
}

// ctxPatcher turns each context field such as device.type into a call of
// the Env function for its kind with the field's number, and
// request.query(x) into Env.Query: expr then calls typed functions
// without reflection, and a Decision fetches a group of the context only
// when an expression reads it. compileExpr has refused unknown fields.
type ctxPatcher struct{ declared map[string]bool }

func (p ctxPatcher) Visit(n *ast.Node) {
	if call, ok := (*n).(*ast.CallNode); ok {
		if root, prop, ok := ctxMember(call.Callee, p.declared); ok && ctxMethods[root][prop] {
			ast.Patch(n, &ast.CallNode{Callee: &ast.IdentifierNode{Value: "__query"}, Arguments: call.Arguments})
		}
		return
	}
	root, prop, ok := ctxMember(*n, p.declared)
	if !ok {
		return
	}
	f, known := ctxNames[root][prop]
	if !known {
		return
	}
	callee := "__ctx"
	switch ctxInfo[f].kind {
	case kindBool:
		callee = "__ctxb"
	case kindInt:
		callee = "__ctxi"
	}
	ast.Patch(n, &ast.CallNode{
		Callee:    &ast.IdentifierNode{Value: callee},
		Arguments: []ast.Node{&ast.IntegerNode{Value: int(f)}},
	})
}

// weekdayNames are time.weekday's values, as schedules name days.
var weekdayNames = [7]string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

// reqCtx is a Decision's view of its Context: each group fetched once, on
// first read, and each string boxed once, so that reading a field twice
// costs neither a call nor an allocation.
type reqCtx struct {
	src  Context
	have ctxGroup
	// strs holds the fields of the request, device and geo groups, by
	// field number.
	strs  [ctxGeoCity + 1]string
	visit struct {
		new   bool
		count int
	}
	hour, weekday int
	boxed         [numCtxFields]any
	isBoxed       uint32
	// queries remembers request.query's answers, boxed, by parameter.
	queries [4]struct {
		name  string
		value any
	}
	nq int
}

// reset forgets the last request's context and reads src from now on;
// src may be nil, every name then reading its zero value.
func (c *reqCtx) reset(src Context) {
	// Only what was set is cleared: reset runs three times per decision,
	// and the strings must not outlive their request.
	if c.isBoxed != 0 {
		clear(c.boxed[:])
	}
	clear(c.queries[:c.nq])
	if c.have&(groupRequest|groupDevice|groupGeo) != 0 {
		clear(c.strs[:])
	}
	c.src, c.have, c.isBoxed, c.nq = src, 0, 0, 0
}

// fill fetches the groups g of the context not fetched yet.
func (d *Decision) fill(g ctxGroup) {
	c := &d.ctx
	need := g &^ c.have
	if need == 0 {
		return
	}
	c.have |= need
	if need&groupRequest != 0 && c.src != nil {
		r := c.src.Request()
		c.strs[ctxRequestPath], c.strs[ctxRequestHost], c.strs[ctxRequestReferrer] = r.Path, r.Host, r.Referrer
	}
	if need&groupDevice != 0 && c.src != nil {
		v := c.src.Device()
		c.strs[ctxDeviceType], c.strs[ctxDeviceOS], c.strs[ctxDeviceBrowser] = v.Type, v.OS, v.Browser
	}
	if need&groupGeo != 0 && c.src != nil {
		g := c.src.Geo()
		c.strs[ctxGeoCountry], c.strs[ctxGeoRegion], c.strs[ctxGeoCity] = g.Country, g.Region, g.City
	}
	if need&groupVisit != 0 {
		c.visit.new, c.visit.count = visitOf(d.p, d.now)
	}
	if need&groupTime != 0 {
		t := d.now.In(d.e.loc)
		c.hour, c.weekday = t.Hour(), int(t.Weekday())
	}
}

// visitOf says whether a page view at now starts a new session of p, and
// which session of the visitor it belongs to, counting from 1: a session
// ends after profile.SessionGap without a page view.
func visitOf(p *profile.Profile, now time.Time) (isNew bool, count int) {
	isNew = p.LastSeen.IsZero() || now.Sub(p.LastSeen) > profile.SessionGap
	count = p.Sessions
	if isNew || count == 0 {
		count++
	}
	return isNew, count
}

// ctxString returns a string field, boxed once per decision.
func (d *Decision) ctxString(k any) any {
	f, ok := k.(int)
	if !ok || f < 0 || f >= int(numCtxFields) || ctxInfo[f].kind != kindString {
		return ""
	}
	c := &d.ctx
	if c.isBoxed&(1<<f) != 0 {
		return c.boxed[f]
	}
	d.fill(ctxInfo[f].group)
	var s string
	switch ctxField(f) {
	case ctxVisitLanding:
		s = d.p.Landing
		if c.visit.new || s == "" {
			// This very page starts the session (or the profile predates
			// landings being recorded).
			s = c.strs[ctxRequestPath]
		}
	case ctxTimeWeekday:
		s = weekdayNames[c.weekday]
	default:
		// The other string fields are those of the request, device and
		// geo groups, fetched into strs.
		s = c.strs[f]
	}
	c.boxed[f], c.isBoxed = box(s), c.isBoxed|1<<f
	return c.boxed[f]
}

// ctxBool returns a boolean field.
func (d *Decision) ctxBool(f int) bool {
	if f != int(ctxVisitNew) {
		return false
	}
	d.fill(groupVisit)
	return d.ctx.visit.new
}

// ctxInt returns an integer field.
func (d *Decision) ctxInt(f int) int {
	switch ctxField(f) {
	case ctxVisitCount:
		d.fill(groupVisit)
		return d.ctx.visit.count
	case ctxTimeHour:
		d.fill(groupTime)
		return d.ctx.hour
	}
	return 0
}

// query is request.query(name): each parameter asked for once and boxed
// once per decision, however many segments read it.
func (d *Decision) query(arg any) any {
	name, _ := arg.(string)
	c := &d.ctx
	if c.src == nil || name == "" {
		return ""
	}
	for i := range c.nq {
		if c.queries[i].name == name {
			return c.queries[i].value
		}
	}
	v := box(c.src.Query(name))
	if c.nq < len(c.queries) {
		c.queries[c.nq].name, c.queries[c.nq].value = name, v
		c.nq++
	}
	return v
}

// boxes holds the values context strings usually take, already in an
// interface: boxing a string allocates, and device and country values
// come from small fixed sets.
var boxes = func() map[string]any {
	m := map[string]any{"": ""}
	for _, s := range weekdayNames {
		m[s] = s
	}
	for _, s := range []string{
		"mobile", "tablet", "desktop", "bot",
		"android", "ios", "windows", "macos", "linux", "chromeos", "freebsd", "openbsd",
		"chrome", "safari", "firefox", "edge", "opera", "opera_mini", "ie", "samsung",
		"vivaldi", "silk", "yandex", "huawei", "falkon", "nintendo", "android_browser",
	} {
		m[s] = s
	}
	return m
}()

// countryBoxes are the boxed two-letter codes AA to ZZ.
var countryBoxes = func() (t [26 * 26]any) {
	for i := range t {
		t[i] = string([]byte{byte('A' + i/26), byte('A' + i%26)})
	}
	return t
}()

// box returns s in an interface, without allocating for the usual values.
func box(s string) any {
	if len(s) == 2 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z' {
		return countryBoxes[int(s[0]-'A')*26+int(s[1]-'A')]
	}
	if v, ok := boxes[s]; ok {
		return v
	}
	return s
}
