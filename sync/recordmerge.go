package sync

import (
	"cmp"
	"slices"

	"github.com/marquee-proxy/marquee/profile"
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
func MergeRecords(a, b *profile.Profile) *profile.Profile {
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

func mergeCaps(m, o *profile.Profile) bool {
	var changed bool
	m.Caps, changed = mergeLarger(m.Caps, o.Caps, func(x, y profile.NodeDayCount) int {
		return cmp.Or(cmp.Compare(x.Day, y.Day), cmp.Compare(x.Node, y.Node))
	}, func(c profile.NodeDayCount) int32 { return c.Count })
	return changed
}

func mergeViews(m, o *profile.Profile) bool {
	var changed bool
	m.Views, changed = mergeLarger(m.Views, o.Views, func(x, y profile.DayCount) int {
		return cmp.Compare(x.Day, y.Day)
	}, func(c profile.DayCount) int32 { return c.Count })
	return changed
}

// mergeLarger merges o's count lists into m's, which it may change in
// place: of two buckets with the same key (compare 0) the larger count
// wins, a bucket only o has is added, and a changed list is sorted by
// compare. It returns m, made if it was nil, and whether anything changed.
func mergeLarger[T any](m, o map[string][]T, compare func(x, y T) int, count func(T) int32) (map[string][]T, bool) {
	changed := false
	for key, buckets := range o {
		list := m[key]
		touched := false
	next:
		for _, ob := range buckets {
			for i := range list {
				if compare(list[i], ob) == 0 {
					if count(ob) > count(list[i]) {
						list[i], touched = ob, true
					}
					continue next
				}
			}
			list, touched = append(list, ob), true
		}
		if touched {
			slices.SortFunc(list, compare)
			if m == nil {
				m = map[string][]T{}
			}
			m[key], changed = list, true
		}
	}
	return m, changed
}

func mergeExposures(m, o *profile.Profile) bool {
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
				m.Exposures = map[string]profile.Exposure{}
			}
			m.Exposures[campaign], changed = next, true
		}
	}
	return changed
}

func mergeVariants(m, o *profile.Profile) bool {
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

func sameExposure(x, y profile.Exposure) bool {
	return x.Variant == y.Variant && x.At.Equal(y.At) && x.Converted.Equal(y.Converted)
}
