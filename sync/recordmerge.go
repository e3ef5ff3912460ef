package sync

import (
	"cmp"
	"maps"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/marquee-proxy/marquee/profile"
)

// Register keys in profile.Profile.Stamps.
const (
	stampAttr    = profile.RegisterAttr
	stampScore   = profile.RegisterScore
	stampCart    = profile.RegisterCart
	stampConsent = profile.RegisterConsent
	stampRecent  = profile.RegisterRecent
)

// MergeRecords merges two copies of one profile into the copy every node
// ends with, field by field, whatever order copies arrive in (the merge is
// commutative, associative and idempotent, and its result is canonical, so
// nodes that saw the same writes hold the same bytes):
//
//   - attributes, scores, the consent flag, cart lines and the recent
//     list are registers: the value of the later stamp wins, a removal
//     included;
//   - views, custom counts and sessions are per-node counters: per
//     (category, day, node) the larger count wins, and readers see sums;
//     frequency caps likewise per (campaign, day, node);
//   - purchases are a set keyed by order id; links a grow-only set;
//   - last seen, the cart's time and the latest session's landing: the
//     later; exposures per campaign: the later, and the later conversion;
//     variants per experiment: the lower name, so both nodes keep the
//     same one.
//
// The result carries the higher of the two versions and its node, and the
// earlier birth. It may be a or b itself when nothing changes; callers
// must not modify it.
func MergeRecords(a, b *profile.Profile) *profile.Profile {
	a, b = migrated(a), migrated(b)
	w, l := a, b
	if Newer(b.Version, b.Node, a.Version, a.Node) {
		w, l = b, a
	}
	m := &profile.Profile{ID: w.ID, Version: w.Version, Node: w.Node, Updated: w.Updated, Born: min(born(a), born(b))}
	mergeRegisters(m, w, l)
	m.NodeViews = mergeNodeMaps(w.NodeViews, l.NodeViews)
	m.NodeCustom = mergeNodeMaps(w.NodeCustom, l.NodeCustom)
	m.Caps = mergeNodeMaps(w.Caps, l.Caps)
	for _, p := range []*profile.Profile{w, l} {
		for n, c := range p.NodeSessions {
			if c > m.NodeSessions[n] {
				if m.NodeSessions == nil {
					m.NodeSessions = make(map[string]int, len(p.NodeSessions))
				}
				m.NodeSessions[n] = c
			}
		}
		m.Purchases = append(m.Purchases, p.Purchases...)
		m.Links = append(m.Links, p.Links...)
		if p.LastSeen.After(m.LastSeen) {
			m.LastSeen = p.LastSeen
		}
		mergeLanding(m, p)
		if p.Cart.UpdatedAt.After(m.Cart.UpdatedAt) {
			m.Cart.UpdatedAt = p.Cart.UpdatedAt
		}
		for exp, v := range p.Variants {
			if cur, ok := m.Variants[exp]; !ok || v < cur {
				if m.Variants == nil {
					m.Variants = make(map[string]string, len(p.Variants))
				}
				m.Variants[exp] = v
			}
		}
	}
	m.Exposures = maps.Clone(w.Exposures)
	mergeExposures(m, l)
	canonical(m)
	return m
}

// mergeRegisters sets m's registers from w and l: per stamp key, the value
// of the copy with the later stamp (w's on a tie).
func mergeRegisters(m, w, l *profile.Profile) {
	if len(w.Stamps)+len(l.Stamps) == 0 {
		return
	}
	m.Stamps = make(map[string]profile.Stamp, max(len(w.Stamps), len(l.Stamps)))
	take := func(key string, st profile.Stamp, from *profile.Profile) {
		m.Stamps[key] = st
		switch {
		case key == stampConsent:
			if c := from.Consent.Personalization; c != nil {
				v := *c
				m.Consent.Personalization = &v
			}
		case key == stampRecent:
			m.Recent = slices.Clone(from.Recent)
		case strings.HasPrefix(key, stampAttr):
			if v, ok := from.Attrs[key[len(stampAttr):]]; ok {
				if m.Attrs == nil {
					m.Attrs = make(map[string]any)
				}
				m.Attrs[key[len(stampAttr):]] = v
			}
		case strings.HasPrefix(key, stampScore):
			if v, ok := from.Scores[key[len(stampScore):]]; ok {
				if m.Scores == nil {
					m.Scores = make(map[string]float64)
				}
				m.Scores[key[len(stampScore):]] = v
			}
		case strings.HasPrefix(key, stampCart):
			if i := cartIndex(from.Cart.Items, key[len(stampCart):]); i >= 0 {
				m.Cart.Items = append(m.Cart.Items, from.Cart.Items[i])
			}
		}
	}
	for key, st := range w.Stamps {
		if o, ok := l.Stamps[key]; ok && o.After(st) {
			take(key, o, l)
		} else {
			take(key, st, w)
		}
	}
	for key, st := range l.Stamps {
		if _, ok := w.Stamps[key]; !ok {
			take(key, st, l)
		}
	}
}

func cartIndex(items []profile.CartItem, product string) int {
	for i := range items {
		if items[i].Product == product {
			return i
		}
	}
	return -1
}

// mergeNodeMaps merges two maps of per-node counts: per (key, day, node)
// the larger count wins. The result is new; lists are sorted by canonical.
func mergeNodeMaps(a, b map[string][]profile.NodeDayCount) map[string][]profile.NodeDayCount {
	if len(a)+len(b) == 0 {
		return nil
	}
	m := make(map[string][]profile.NodeDayCount, max(len(a), len(b)))
	for k, v := range a {
		m[k] = slices.Clone(v)
	}
	for k, v := range b {
		list := m[k]
	next:
		for _, c := range v {
			for i := range list {
				if list[i].Day == c.Day && list[i].Node == c.Node {
					list[i].Count = max(list[i].Count, c.Count)
					continue next
				}
			}
			list = append(list, c)
		}
		m[k] = list
	}
	return m
}

func mergeExposures(m, o *profile.Profile) {
	for campaign, ox := range o.Exposures {
		mx, ok := m.Exposures[campaign]
		next := mx
		if !ok || ox.At.After(mx.At) || (ox.At.Equal(mx.At) && ox.Variant > mx.Variant) {
			if ox.Variant != mx.Variant {
				// The other copy's arm wins: so do its enrollment and
				// outcomes, which belong to that arm. Conversions merge
				// below.
				next = ox
				next.Converted = mx.Converted
			} else {
				next.At = ox.At
			}
		}
		next = next.MergeEnrollment(ox)
		if ox.Converted.After(next.Converted) {
			next.Converted = ox.Converted
		}
		if !ok || !sameExposure(next, mx) {
			if m.Exposures == nil {
				m.Exposures = map[string]profile.Exposure{}
			}
			m.Exposures[campaign] = next
		}
	}
}

func sameExposure(x, y profile.Exposure) bool {
	return x.Variant == y.Variant && x.At.Equal(y.At) && x.Converted.Equal(y.Converted) &&
		x.Enrolled.Equal(y.Enrolled) && x.PreOrders == y.PreOrders && x.PreRevenue == y.PreRevenue &&
		x.Orders == y.Orders && x.Revenue == y.Revenue
}

// migrated returns p in the current format: p itself when it is, else a
// migrated copy.
func migrated(p *profile.Profile) *profile.Profile {
	if !needsMigration(p) {
		return p
	}
	p = p.Clone()
	migrate(p)
	return p
}

// needsMigration reports whether p was written before registers were
// stamped and counters kept per node.
func needsMigration(p *profile.Profile) bool {
	if len(p.Stamps) == 0 && (len(p.Attrs) > 0 || len(p.Scores) > 0 || p.Consent.Personalization != nil || len(p.Cart.Items) > 0 || len(p.Recent) > 0) {
		return true
	}
	if len(p.NodeViews) == 0 && len(p.Views) > 0 || len(p.NodeCustom) == 0 && len(p.Custom) > 0 || len(p.NodeSessions) == 0 && p.Sessions > 0 {
		return true
	}
	for i := range p.Purchases {
		if p.Purchases[i].ID == "" {
			return true
		}
	}
	return p.Born == 0 && p.Version != 0
}

// migrate brings a profile written before registers were stamped into the
// current format, in place: every register it holds gets the stamp of the
// record's version and node; its counts become those of node ""; id-less
// purchases get an id derived from their content. It is idempotent.
func migrate(p *profile.Profile) {
	if len(p.Stamps) == 0 {
		st := profile.Stamp{V: p.Version, Node: p.Node}
		stamp := func(key string) {
			if p.Stamps == nil {
				p.Stamps = make(map[string]profile.Stamp)
			}
			p.Stamps[key] = st
		}
		for k := range p.Attrs {
			stamp(stampAttr + k)
		}
		for k := range p.Scores {
			stamp(stampScore + k)
		}
		if p.Consent.Personalization != nil {
			stamp(stampConsent)
		}
		for _, it := range p.Cart.Items {
			stamp(stampCart + it.Product)
		}
		if len(p.Recent) > 0 {
			stamp(stampRecent)
		}
	}
	if len(p.NodeViews) == 0 && len(p.Views) > 0 {
		p.NodeViews = legacyCounts(p.Views)
	}
	if len(p.NodeCustom) == 0 && len(p.Custom) > 0 {
		p.NodeCustom = legacyCounts(p.Custom)
	}
	if len(p.NodeSessions) == 0 && p.Sessions > 0 {
		p.NodeSessions = map[string]int{"": p.Sessions}
	}
	if p.Born == 0 {
		p.Born = p.Version
	}
	canonical(p)
}

func legacyCounts(m map[string][]profile.DayCount) map[string][]profile.NodeDayCount {
	out := make(map[string][]profile.NodeDayCount, len(m))
	for k, list := range m {
		for _, c := range list {
			out[k] = append(out[k], profile.NodeDayCount{Day: c.Day, Count: c.Count})
		}
	}
	return out
}

// purchaseID is the id of a purchase imported without one: the same on
// every node, from what the purchase holds.
func purchaseID(o profile.Purchase) string {
	h := fnv64a(o.Product) ^ mix64(math.Float64bits(o.Value)) ^ mix64(uint64(o.At.UnixNano()))
	return "h:" + strconv.FormatUint(mix64(h), 36)
}

// canonical puts p's sets and counters in their one canonical form:
// purchases with ids, once per id, in time order, the newest maxPurchases;
// links sorted; cart lines by product; counter lists by (day, node), within
// RetentionDays of the newest day and maxCategories keys; the sums readers
// see recomputed from the per-node counts.
func canonical(p *profile.Profile) {
	for i := range p.Purchases {
		if p.Purchases[i].ID == "" {
			p.Purchases[i].ID = purchaseID(p.Purchases[i])
		}
	}
	slices.SortFunc(p.Purchases, func(x, y profile.Purchase) int {
		return cmp.Or(strings.Compare(x.ID, y.ID), x.At.Compare(y.At), cmp.Compare(x.Value, y.Value), strings.Compare(x.Product, y.Product))
	})
	p.Purchases = slices.CompactFunc(p.Purchases, func(x, y profile.Purchase) bool { return x.ID == y.ID })
	slices.SortFunc(p.Purchases, func(x, y profile.Purchase) int {
		return cmp.Or(x.At.Compare(y.At), strings.Compare(x.ID, y.ID))
	})
	if len(p.Purchases) > maxPurchases {
		p.Purchases = append(p.Purchases[:0], p.Purchases[len(p.Purchases)-maxPurchases:]...)
	}
	if len(p.Purchases) == 0 {
		p.Purchases = nil
	}
	slices.Sort(p.Links)
	p.Links = slices.Compact(p.Links)
	if len(p.Links) > maxLinks {
		p.Links = append(p.Links[:0], p.Links[len(p.Links)-maxLinks:]...)
	}
	if len(p.Links) == 0 {
		p.Links = nil
	}
	slices.SortFunc(p.Cart.Items, func(x, y profile.CartItem) int { return strings.Compare(x.Product, y.Product) })
	if len(p.Cart.Items) == 0 {
		p.Cart.Items = nil
	}
	if len(p.Recent) == 0 {
		p.Recent = nil
	}
	for _, list := range p.Caps {
		slices.SortFunc(list, compareNodeDay)
	}
	dropOldRemovals(p)
	p.Views = sumCounts(trimCounts(p.NodeViews))
	p.Custom = sumCounts(trimCounts(p.NodeCustom))
	p.Sessions = 0
	for _, n := range p.NodeSessions {
		p.Sessions += n
	}
}

// RemovalRetention is how long the stamp of a removed register (an
// attribute, score or cart line deleted, the consent or recent list
// cleared) is kept, measured back from the record's own version: the
// default retention of erasure tombstones. A removal stamp older than that
// is dropped in the canonical form, the same on every replica since it
// depends only on the record. The bound is the one erasures have: a copy
// of the profile that has not been merged for longer than this can bring
// a removed key back.
const RemovalRetention = 30 * 24 * time.Hour

// dropOldRemovals deletes from p.Stamps the removal stamps older than
// RemovalRetention before p.Version.
func dropOldRemovals(p *profile.Profile) {
	cutoff := p.Version - profile.VersionAt(time.Unix(0, 0).Add(RemovalRetention))
	if p.Version <= cutoff || len(p.Stamps) == 0 {
		return
	}
	for key, st := range p.Stamps {
		if st.V < cutoff && !holdsValue(p, key) {
			delete(p.Stamps, key)
		}
	}
	if len(p.Stamps) == 0 {
		p.Stamps = nil
	}
}

// holdsValue reports whether the register of stamp key has a value in p.
func holdsValue(p *profile.Profile, key string) bool {
	switch {
	case key == stampConsent:
		return p.Consent.Personalization != nil
	case key == stampRecent:
		return len(p.Recent) > 0
	case strings.HasPrefix(key, stampAttr):
		_, ok := p.Attrs[key[len(stampAttr):]]
		return ok
	case strings.HasPrefix(key, stampScore):
		_, ok := p.Scores[key[len(stampScore):]]
		return ok
	case strings.HasPrefix(key, stampCart):
		return cartIndex(p.Cart.Items, key[len(stampCart):]) >= 0
	}
	return true
}

func compareNodeDay(x, y profile.NodeDayCount) int {
	return cmp.Or(cmp.Compare(x.Day, y.Day), strings.Compare(x.Node, y.Node))
}

// trimCounts sorts each list of m, drops buckets RetentionDays or more
// older than the list's newest and, beyond maxCategories keys, the keys
// whose newest bucket is oldest. It returns m.
func trimCounts(m map[string][]profile.NodeDayCount) map[string][]profile.NodeDayCount {
	for k, list := range m {
		slices.SortFunc(list, compareNodeDay)
		if len(list) == 0 {
			delete(m, k)
			continue
		}
		newest := list[len(list)-1].Day
		if list[0].Day <= newest-RetentionDays {
			i := 0
			for i < len(list) && list[i].Day <= newest-RetentionDays {
				i++
			}
			m[k] = append(list[:0], list[i:]...)
		}
	}
	for len(m) > maxCategories {
		var victim string
		oldest := int32(math.MaxInt32)
		for k, list := range m {
			if last := list[len(list)-1].Day; last < oldest || last == oldest && k < victim {
				victim, oldest = k, last
			}
		}
		delete(m, victim)
	}
	return m
}

// sumCounts sums per-node counts per day.
func sumCounts(m map[string][]profile.NodeDayCount) map[string][]profile.DayCount {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string][]profile.DayCount, len(m))
	for k, list := range m {
		sums := make([]profile.DayCount, 0, len(list))
		for _, c := range list {
			if n := len(sums); n > 0 && sums[n-1].Day == c.Day {
				sums[n-1].Count += c.Count
				continue
			}
			sums = append(sums, profile.DayCount{Day: c.Day, Count: c.Count})
		}
		out[k] = sums
	}
	return out
}

// stampWrite records the local write that turned old (nil for a new
// profile) into p, at version v on node: every register whose value
// changed, set or removed, gets the stamp (v, node); counts that grew are
// added to node's own counters; then p is put in canonical form. The
// writer changes only the values readers see: stamps and per-node counts
// are recomputed here from old's.
func stampWrite(old, p *profile.Profile, v profile.Version, node string) {
	if old == nil {
		old = &profile.Profile{}
	}
	st := profile.Stamp{V: v, Node: node}
	stamps := maps.Clone(old.Stamps)
	stamp := func(key string) {
		if stamps == nil {
			stamps = make(map[string]profile.Stamp)
		}
		stamps[key] = st
	}
	diffMap(old.Attrs, p.Attrs, func(k string) { stamp(stampAttr + k) })
	diffMap(old.Scores, p.Scores, func(k string) { stamp(stampScore + k) })
	if oc, nc := old.Consent.Personalization, p.Consent.Personalization; (oc == nil) != (nc == nil) || oc != nil && *oc != *nc {
		stamp(stampConsent)
	}
	for _, it := range p.Cart.Items {
		if i := cartIndex(old.Cart.Items, it.Product); i < 0 || old.Cart.Items[i] != it {
			stamp(stampCart + it.Product)
		}
	}
	for _, it := range old.Cart.Items {
		if cartIndex(p.Cart.Items, it.Product) < 0 {
			stamp(stampCart + it.Product)
		}
	}
	if !slices.Equal(old.Recent, p.Recent) {
		stamp(stampRecent)
	}
	for _, key := range p.TakeTouched() {
		stamp(key)
	}
	p.Stamps = stamps
	p.NodeViews = addGrowth(old.Views, p.Views, old.NodeViews, node)
	p.NodeCustom = addGrowth(old.Custom, p.Custom, old.NodeCustom, node)
	p.NodeSessions = maps.Clone(old.NodeSessions)
	if d := p.Sessions - old.Sessions; d > 0 {
		if p.NodeSessions == nil {
			p.NodeSessions = make(map[string]int, 1)
		}
		p.NodeSessions[node] += d
	}
	canonical(p)
}

// diffMap calls changed for every key whose value differs between old and
// cur, or that only one of them has.
func diffMap[V any](old, cur map[string]V, changed func(k string)) {
	for k, v := range cur {
		if o, ok := old[k]; !ok || !sameValue(o, v) {
			changed(k)
		}
	}
	for k := range old {
		if _, ok := cur[k]; !ok {
			changed(k)
		}
	}
}

func sameValue(x, y any) bool {
	switch x := x.(type) {
	case string:
		y, ok := y.(string)
		return ok && x == y
	case float64:
		y, ok := y.(float64)
		return ok && x == y
	case bool:
		y, ok := y.(bool)
		return ok && x == y
	}
	return reflect.DeepEqual(x, y)
}

// addGrowth returns a copy of node counts nc (old's per-node counts) with
// every count of cur that exceeds old's added to node's counter of its day.
func addGrowth(old, cur map[string][]profile.DayCount, nc map[string][]profile.NodeDayCount, node string) map[string][]profile.NodeDayCount {
	out := make(map[string][]profile.NodeDayCount, len(nc)+1)
	for k, v := range nc {
		out[k] = slices.Clone(v)
	}
	for k, list := range cur {
		for _, c := range list {
			d := c.Count - dayCount(old[k], c.Day)
			if d <= 0 {
				continue
			}
			l := out[k]
			i := slices.IndexFunc(l, func(x profile.NodeDayCount) bool { return x.Day == c.Day && x.Node == node })
			if i >= 0 {
				l[i].Count += d
			} else {
				l = append(l, profile.NodeDayCount{Day: c.Day, Node: node, Count: d})
			}
			out[k] = l
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

func dayCount(list []profile.DayCount, day int32) int32 {
	for _, c := range list {
		if c.Day == day {
			return c.Count
		}
	}
	return 0
}
