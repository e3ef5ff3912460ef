package sync

import (
	"sort"
	"time"

	"github.com/marquee-proxy/marquee/profile"
)

// Bounds on what one profile accumulates, so that a busy visitor or a
// hostile event stream cannot grow a record without limit.
const (
	// RetentionDays is how many daily buckets a counter keeps.
	RetentionDays = 92
	maxCategories = 128
	maxRecent     = 20
	maxPurchases  = 200
	maxCartItems  = 100
	// SessionGap is the idle time after which a page view starts a new
	// session.
	SessionGap = profile.SessionGap
)

// ApplyEvent changes p as e says. e must have been normalised
// (EventRules.Normalize); loc is the zone of daily buckets. Events may come
// in any order: each lands in the bucket of its own day, and times only
// move forward.
func ApplyEvent(p *profile.Profile, e *Event, loc *time.Location) {
	day := DayIndex(e.TS, loc)
	switch e.Type {
	case EventView:
		if e.Category != "" {
			if p.Views == nil {
				p.Views = make(map[string][]profile.DayCount)
			}
			addCount(p.Views, e.Category, day, 1)
		}
		if e.Product != "" && !e.TS.Before(p.LastSeen) {
			p.Recent = pushRecent(p.Recent, e.Product)
		}
		if p.LastSeen.IsZero() || e.TS.Sub(p.LastSeen) > SessionGap {
			p.Sessions++
			if e.Path != "" && e.TS.After(p.SessionStart) {
				p.Landing, p.SessionStart = e.Path, e.TS.UTC()
			}
		}
	case EventAddToCart, EventRemoveFromCart:
		qty := 1
		if q, ok := e.Props["qty"].(float64); ok && q >= 1 && q <= 1000 {
			qty = int(q)
		}
		if e.Type == EventRemoveFromCart {
			qty = -qty
		}
		p.Cart.Items = addCartItem(p.Cart.Items, e.Product, qty, e.Value)
		if e.TS.After(p.Cart.UpdatedAt) {
			p.Cart.UpdatedAt = e.TS.UTC()
		}
	case EventPurchase:
		p.Purchases = addPurchase(p.Purchases, profile.Purchase{ID: e.ID, Product: e.Product, Value: e.Value, At: e.TS.UTC()})
		if !e.TS.Before(p.Cart.UpdatedAt) {
			p.Cart = profile.Cart{UpdatedAt: e.TS.UTC()}
		}
	case EventCustom:
		name, _ := e.Props["name"].(string)
		if p.Custom == nil {
			p.Custom = make(map[string][]profile.DayCount)
		}
		addCount(p.Custom, NormalizeName(name, true), day, 1)
	}
	if e.TS.After(p.LastSeen) {
		p.LastSeen = e.TS.UTC()
	}
}

// addCount adds n to key's bucket for day, keeping buckets sorted by day,
// within RetentionDays of the newest and at most maxCategories keys.
func addCount(m map[string][]profile.DayCount, key string, day, n int32) {
	b := m[key]
	if _, ok := m[key]; !ok && len(m) >= maxCategories {
		evictStalest(m)
	}
	i := sort.Search(len(b), func(i int) bool { return b[i].Day >= day })
	if i < len(b) && b[i].Day == day {
		b[i].Count += n
	} else {
		b = append(b, profile.DayCount{})
		copy(b[i+1:], b[i:])
		b[i] = profile.DayCount{Day: day, Count: n}
	}
	if newest := b[len(b)-1].Day; b[0].Day <= newest-RetentionDays {
		j := sort.Search(len(b), func(i int) bool { return b[i].Day > newest-RetentionDays })
		b = append(b[:0], b[j:]...)
	}
	m[key] = b
}

// evictStalest drops the key whose newest bucket is oldest.
func evictStalest(m map[string][]profile.DayCount) {
	var victim string
	oldest := int32(1<<31 - 1)
	for k, b := range m {
		last := int32(0)
		if len(b) > 0 {
			last = b[len(b)-1].Day
		}
		if last < oldest || last == oldest && k < victim {
			victim, oldest = k, last
		}
	}
	delete(m, victim)
}

func pushRecent(r []string, product string) []string {
	for i, x := range r {
		if x == product {
			copy(r[1:i+1], r[:i])
			r[0] = product
			return r
		}
	}
	if len(r) < maxRecent {
		r = append(r, "")
	}
	copy(r[1:], r)
	r[0] = product
	return r
}

func addCartItem(items []profile.CartItem, product string, qty int, price float64) []profile.CartItem {
	for i := range items {
		if items[i].Product == product {
			items[i].Qty += qty
			if price > 0 {
				items[i].Price = price
			}
			if items[i].Qty <= 0 {
				return append(items[:i], items[i+1:]...)
			}
			return items
		}
	}
	if qty <= 0 || len(items) >= maxCartItems {
		return items
	}
	return append(items, profile.CartItem{Product: product, Qty: qty, Price: price})
}

// addPurchase inserts o in time order, once per order id.
func addPurchase(ps []profile.Purchase, o profile.Purchase) []profile.Purchase {
	if o.ID != "" {
		for _, x := range ps {
			if x.ID == o.ID {
				return ps
			}
		}
	}
	i := sort.Search(len(ps), func(i int) bool { return ps[i].At.After(o.At) })
	ps = append(ps, profile.Purchase{})
	copy(ps[i+1:], ps[i:])
	ps[i] = o
	if len(ps) > maxPurchases {
		ps = append(ps[:0], ps[len(ps)-maxPurchases:]...)
	}
	return ps
}

// MergeInto folds src (an anonymous profile) into dst (the customer's):
// counters are summed per bucket, attributes and scores of the more
// recently updated profile win per key, carts and purchases are combined,
// and src's id joins dst's links.
func MergeInto(dst, src *profile.Profile) {
	srcNewer := src.Updated.After(dst.Updated)
	dst.Attrs = mergeMap(dst.Attrs, src.Attrs, srcNewer)
	dst.Scores = mergeMap(dst.Scores, src.Scores, srcNewer)
	if dst.Consent.Personalization == nil || (srcNewer && src.Consent.Personalization != nil) {
		if src.Consent.Personalization != nil {
			b := *src.Consent.Personalization
			dst.Consent.Personalization = &b
		}
	}
	for k, b := range src.Views {
		if dst.Views == nil {
			dst.Views = make(map[string][]profile.DayCount)
		}
		for _, c := range b {
			addCount(dst.Views, k, c.Day, c.Count)
		}
	}
	for k, b := range src.Custom {
		if dst.Custom == nil {
			dst.Custom = make(map[string][]profile.DayCount)
		}
		for _, c := range b {
			addCount(dst.Custom, k, c.Day, c.Count)
		}
	}
	for _, it := range src.Cart.Items {
		dst.Cart.Items = addCartItem(dst.Cart.Items, it.Product, it.Qty, it.Price)
	}
	if src.Cart.UpdatedAt.After(dst.Cart.UpdatedAt) {
		dst.Cart.UpdatedAt = src.Cart.UpdatedAt
	}
	for _, o := range src.Purchases {
		dst.Purchases = addPurchase(dst.Purchases, o)
	}
	first, second := dst.Recent, src.Recent
	if src.LastSeen.After(dst.LastSeen) {
		first, second = second, first
	}
	recent := make([]string, 0, min(maxRecent, len(first)+len(second)))
	for _, x := range append(append([]string(nil), first...), second...) {
		if len(recent) < maxRecent && !contains(recent, x) {
			recent = append(recent, x)
		}
	}
	dst.Recent = recent
	dst.Sessions += src.Sessions
	if src.LastSeen.After(dst.LastSeen) {
		dst.LastSeen = src.LastSeen
	}
	mergeLanding(dst, src)
	// The person keeps the variants they saw; where both saw one, the
	// customer's (assigned by customer id) stays.
	dst.Variants = mergeMap(dst.Variants, src.Variants, false)
	for c, src := range src.Exposures {
		if cur, ok := dst.Exposures[c]; !ok || src.At.After(cur.At) {
			if dst.Exposures == nil {
				dst.Exposures = make(map[string]profile.Exposure)
			}
			dst.Exposures[c] = src.MergeEnrollment(cur)
		} else {
			dst.Exposures[c] = cur.MergeEnrollment(src)
		}
	}
	for c, counts := range src.Caps {
		if dst.Caps == nil {
			dst.Caps = make(map[string][]profile.NodeDayCount)
		}
		dst.Caps[c] = mergeNodeCounts(dst.Caps[c], counts)
	}
	dst.Links = addLink(dst.Links, src.ID)
	for _, l := range src.Links {
		dst.Links = addLink(dst.Links, l)
	}
}

func mergeMap[V any](dst, src map[string]V, srcWins bool) map[string]V {
	if len(src) == 0 {
		return dst
	}
	if dst == nil {
		dst = make(map[string]V, len(src))
	}
	for k, v := range src {
		if _, ok := dst[k]; !ok || srcWins {
			dst[k] = v
		}
	}
	return dst
}

// maxLinks bounds the ids linked to one profile.
const maxLinks = 256

func addLink(links []string, id string) []string {
	if id == "" {
		return links
	}
	for _, l := range links {
		if l == id {
			return links
		}
	}
	if len(links) >= maxLinks {
		links = links[1:]
	}
	return append(links, id)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// mergeNodeCounts adds src's counts into dst per day and node.
func mergeNodeCounts(dst, src []profile.NodeDayCount) []profile.NodeDayCount {
	for _, c := range src {
		found := false
		for i := range dst {
			if dst[i].Day == c.Day && dst[i].Node == c.Node {
				dst[i].Count += c.Count
				found = true
				break
			}
		}
		if !found {
			dst = append(dst, c)
		}
	}
	return dst
}

// mergeLanding keeps, of dst's and src's, the landing of the later
// session; of two sessions started at once, the smaller path, so that the
// merge does not depend on its order.
func mergeLanding(dst, src *profile.Profile) {
	if src.SessionStart.After(dst.SessionStart) ||
		src.SessionStart.Equal(dst.SessionStart) && src.Landing != "" && (dst.Landing == "" || src.Landing < dst.Landing) {
		dst.Landing, dst.SessionStart = src.Landing, src.SessionStart
	}
}
