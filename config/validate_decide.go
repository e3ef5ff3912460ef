package config

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/marquee-proxy/marquee/decide/stats"
)

var (
	hoursRE   = regexp.MustCompile(`^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$`)
	weekdays  = map[string]time.Weekday{"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday, "thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday}
	variantRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)
)

// validateDecisions checks schedules, caps, experiments, conversions and
// the global holdout.
func (c *Config) validateDecisions() Errors {
	var errs Errors
	add := func(path, format string, args ...any) { errs = append(errs, c.Errorf(path, format, args...)) }

	if c.GlobalHoldout < 0 || c.GlobalHoldout >= 1 || math.IsNaN(c.GlobalHoldout) {
		add("global_holdout", "%v: want a share from 0 up to (not including) 1", c.GlobalHoldout)
	}
	experiments := map[string]bool{}
	for i, cp := range c.Campaigns {
		p := "campaigns[" + strconv.Itoa(i) + "]"
		if s := cp.Schedule; s != nil {
			var from, to time.Time
			var err error
			if s.From != "" {
				if from, err = time.Parse(time.RFC3339, s.From); err != nil {
					add(p+".schedule.from", "%q: want an RFC 3339 time such as 2026-12-01T00:00:00Z", s.From)
				}
			}
			if s.To != "" {
				if to, err = time.Parse(time.RFC3339, s.To); err != nil {
					add(p+".schedule.to", "%q: want an RFC 3339 time such as 2026-12-24T00:00:00Z", s.To)
				}
			}
			if !from.IsZero() && !to.IsZero() && !to.After(from) {
				add(p+".schedule.to", "%q is not after from %q", s.To, s.From)
			}
			for j, d := range s.Days {
				if _, ok := ParseWeekday(d); !ok {
					add(fmt.Sprintf("%s.schedule.days[%d]", p, j), "unknown day %q, want mon, tue, wed, thu, fri, sat or sun", d)
				}
			}
			for j, h := range s.Hours {
				if _, _, ok := ParseHours(h); !ok {
					add(fmt.Sprintf("%s.schedule.hours[%d]", p, j), "%q: want a range HH:MM-HH:MM such as 09:00-17:30", h)
				}
			}
			if s.TimeZone != "" {
				if _, err := time.LoadLocation(s.TimeZone); err != nil {
					add(p+".schedule.time_zone", "unknown time zone %q", s.TimeZone)
				}
			}
		}
		if cp.Cap != nil {
			if cp.Cap.Max < 1 {
				add(p+".cap.max", "%d: want at least 1", cp.Cap.Max)
			}
			if cp.Cap.Window < Day {
				add(p+".cap.window", "%s: caps count whole days; want 1d or more", cp.Cap.Window)
			}
		}
		if ex := cp.Experiment; ex != nil {
			ep := p + ".experiment"
			switch {
			case !idRE.MatchString(ex.ID):
				add(ep+".id", "%q: use letters, digits, '_', '.' and '-' only", ex.ID)
			case experiments[ex.ID]:
				add(ep+".id", "experiment %q used by two campaigns", ex.ID)
			}
			experiments[ex.ID] = true
			if ex.Holdout < 0 || ex.Holdout >= 1 || math.IsNaN(ex.Holdout) {
				add(ep+".holdout", "%v: want a share from 0 up to (not including) 1", ex.Holdout)
			}
			if len(ex.Variants) == 0 {
				add(ep+".variants", "required: at least one variant")
			}
			names := map[string]bool{}
			controls, total := 0, 0.0
			for j, v := range ex.Variants {
				vp := fmt.Sprintf("%s.variants[%d]", ep, j)
				switch {
				case !variantRE.MatchString(v.Name) || v.Name == "holdout":
					add(vp+".name", "%q: use letters, digits, '_', '.' and '-' (\"holdout\" is reserved)", v.Name)
				case names[v.Name]:
					add(vp+".name", "variant %q defined twice", v.Name)
				}
				names[v.Name] = true
				if v.Weight < 0 || math.IsNaN(v.Weight) || math.IsInf(v.Weight, 0) {
					add(vp+".weight", "%v: want a weight of 0 or more", v.Weight)
				} else {
					total += v.Weight
				}
				if v.Control {
					controls++
				}
			}
			if len(ex.Variants) > 0 && total == 0 {
				add(ep+".variants", "every variant has weight 0")
			}
			if controls > 1 {
				add(ep+".variants", "%d variants marked control; mark at most one", controls)
			}
			errs = append(errs, c.validateExperimentStats(ep, ex)...)
		}
	}
	for i, path := range c.Conversions.Paths {
		if !strings.HasPrefix(path, "/") {
			add("conversions.paths["+strconv.Itoa(i)+"]", "%q: want a URL path starting with /", path)
		}
	}
	if c.Conversions.Window <= 0 {
		add("conversions.window", "%s: must be positive", c.Conversions.Window)
	}
	for i, ua := range c.Bots.UserAgents {
		if strings.TrimSpace(ua) == "" {
			add("bots.user_agents["+strconv.Itoa(i)+"]", "empty user-agent pattern")
		}
	}
	return errs
}

func allVariantsHaveTemplates(ex *Experiment) bool {
	if ex == nil || len(ex.Variants) == 0 {
		return false
	}
	for _, v := range ex.Variants {
		if strings.TrimSpace(v.Template) == "" {
			return false
		}
	}
	return true
}

// ParseWeekday reads a day name as schedules write it: mon, tue, ... (any
// case, full names accepted).
func ParseWeekday(s string) (time.Weekday, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	if len(s) >= 3 {
		if d, ok := weekdays[s[:3]]; ok && (len(s) == 3 || strings.HasPrefix(strings.ToLower(d.String()), s)) {
			return d, true
		}
	}
	return 0, false
}

// ParseHours reads a daily range "HH:MM-HH:MM" as minutes since midnight;
// the end is exclusive and may be 24:00. A range whose end is before its
// start crosses midnight.
func ParseHours(s string) (start, end int, ok bool) {
	m := hoursRE.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return 0, 0, false
	}
	num := func(x string) int { n, _ := strconv.Atoi(x); return n }
	start, end = num(m[1])*60+num(m[2]), num(m[3])*60+num(m[4])
	if end > 24*60 || start == end {
		return 0, 0, false
	}
	return start, end, true
}

// validateExperimentStats checks an experiment's layer and how it is
// judged: metric names, the primary among them, the analysis.
func (c *Config) validateExperimentStats(ep string, ex *Experiment) Errors {
	var errs Errors
	add := func(path, format string, args ...any) { errs = append(errs, c.Errorf(path, format, args...)) }
	if ex.Layer != "" && !idRE.MatchString(ex.Layer) {
		add(ep+".layer", "%q: use letters, digits, '_', '.' and '-' only", ex.Layer)
	}
	named := map[string]bool{}
	for _, list := range []struct {
		key   string
		names []string
	}{{"metrics", ex.Metrics}, {"guardrails", ex.Guardrails}} {
		seen := map[string]bool{}
		for j, m := range list.names {
			path := fmt.Sprintf("%s.%s[%d]", ep, list.key, j)
			switch _, ok := stats.ParseMetric(m); {
			case !ok:
				add(path, "unknown metric %q; want one of %s", m, stats.MetricNames())
			case seen[m]:
				add(path, "metric %q listed twice", m)
			}
			seen[m] = true
			if list.key == "metrics" {
				named[m] = true
			}
		}
	}
	if ex.Primary != "" {
		switch _, ok := stats.ParseMetric(ex.Primary); {
		case !ok:
			add(ep+".primary", "unknown metric %q; want one of %s", ex.Primary, stats.MetricNames())
		case len(ex.Metrics) > 0 && !named[ex.Primary]:
			add(ep+".primary", "%q is not among the experiment's metrics", ex.Primary)
		case len(ex.Metrics) == 0 && ex.Primary != stats.MetricConversion.String():
			add(ep+".primary", "%q is not among the experiment's metrics (none listed: conversion alone)", ex.Primary)
		}
	}
	if _, ok := stats.ParseAnalysis(ex.Analysis); !ok {
		add(ep+".analysis", "%q: want sequential or fixed", ex.Analysis)
	}
	return errs
}
