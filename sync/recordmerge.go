package sync

import (
	"cmp"
	"slices"
)

// MergeRecords merges two copies of one profile written on different nodes
// into the copy every node ends with, whatever order copies arrive in. The
// newer copy (by version, then node name) gives every field; the counters
// that two nodes may advance at once are merged instead of overwritten:
//
//   - frequency-cap counts, kept per (campaign, day, node): the larger
//     count of each wins, so increments counted on two nodes add up;
//   - category views per day: the larger count wins;
//   - exposures per campaign: the later one wins, and the later conversion;
//   - remembered variants: the older copy's fill experiments the newer
//     copy lacks.
//
// When the older copy adds nothing, the newer one is returned as it is.
// Otherwise the result is new, with a version one past both, so that it
// replaces both everywhere; a node that computes the same merge gets the
// same record.
func MergeRecords(a, b *Profile) *Profile {
	newer, older := a, b
	if Newer(b.Version, b.Node, a.Version, a.Node) {
		newer, older = b, a
	}
	m := newer.Clone()
	changed := mergeCaps(m, older)
	changed = mergeViews(m, older) || changed
	changed = mergeExposures(m, older) || changed
	changed = mergeVariants(m, older) || changed
	if !changed {
		return newer
	}
	m.Version = max(a.Version, b.Version) + 1
	return m
}

func mergeCaps(m, o *Profile) bool {
	changed := false
	for campaign, buckets := range o.Caps {
		list := m.Caps[campaign]
		touched := false
	next:
		for _, ob := range buckets {
			for i := range list {
				if list[i].Day == ob.Day && list[i].Node == ob.Node {
					if ob.Count > list[i].Count {
						list[i].Count, touched = ob.Count, true
					}
					continue next
				}
			}
			list, touched = append(list, ob), true
		}
		if touched {
			slices.SortFunc(list, func(x, y NodeDayCount) int {
				return cmp.Or(cmp.Compare(x.Day, y.Day), cmp.Compare(x.Node, y.Node))
			})
			if m.Caps == nil {
				m.Caps = map[string][]NodeDayCount{}
			}
			m.Caps[campaign], changed = list, true
		}
	}
	return changed
}

func mergeViews(m, o *Profile) bool {
	changed := false
	for cat, buckets := range o.Views {
		list := m.Views[cat]
		touched := false
	next:
		for _, ob := range buckets {
			for i := range list {
				if list[i].Day == ob.Day {
					if ob.Count > list[i].Count {
						list[i].Count, touched = ob.Count, true
					}
					continue next
				}
			}
			list, touched = append(list, ob), true
		}
		if touched {
			slices.SortFunc(list, func(x, y DayCount) int { return cmp.Compare(x.Day, y.Day) })
			if m.Views == nil {
				m.Views = map[string][]DayCount{}
			}
			m.Views[cat], changed = list, true
		}
	}
	return changed
}

func mergeExposures(m, o *Profile) bool {
	changed := false
	for campaign, ox := range o.Exposures {
		mx, ok := m.Exposures[campaign]
		next := mx
		if !ok || ox.At.After(mx.At) || (ox.At.Equal(mx.At) && ox.Variant > mx.Variant) {
			next.Variant, next.At = ox.Variant, ox.At
		}
		if ox.Converted.After(next.Converted) {
			next.Converted = ox.Converted
		}
		if !ok || !sameExposure(next, mx) {
			if m.Exposures == nil {
				m.Exposures = map[string]Exposure{}
			}
			m.Exposures[campaign], changed = next, true
		}
	}
	return changed
}

func mergeVariants(m, o *Profile) bool {
	changed := false
	for exp, v := range o.Variants {
		if _, ok := m.Variants[exp]; !ok {
			if m.Variants == nil {
				m.Variants = map[string]string{}
			}
			m.Variants[exp], changed = v, true
		}
	}
	return changed
}

func sameExposure(x, y Exposure) bool {
	return x.Variant == y.Variant && x.At.Equal(y.At) && x.Converted.Equal(y.Converted)
}
