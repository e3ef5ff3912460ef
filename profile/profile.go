package profile

import "time"

// SessionGap is the idle time after which a page view starts a new
// session (visit.new, Sessions).
const SessionGap = 30 * time.Minute

// Profile is everything marquee knows about one visitor or customer. A
// Profile returned by the store is a shared, read-only snapshot: callers
// that want to change it work on a Clone and write that back.
type Profile struct {
	// ID is the visitor id (from the visitor cookie) or customer id.
	ID string `json:"id"`
	// Attrs are demographic attributes: strings, numbers or booleans.
	Attrs map[string]any `json:"attrs,omitempty"`
	// Scores are imported model scores, e.g. a purchase propensity.
	Scores map[string]float64 `json:"scores,omitempty"`
	// Consent records what the person agreed to.
	Consent Consent `json:"consent"`
	// Cart is the current cart.
	Cart Cart `json:"cart"`
	// Purchases are the orders on record, oldest first.
	Purchases []Purchase `json:"purchases,omitempty"`
	// Views counts page views per category in daily buckets.
	Views map[string][]DayCount `json:"views,omitempty"`
	// Custom counts custom events per name in daily buckets.
	Custom map[string][]DayCount `json:"custom,omitempty"`
	// Recent lists recently viewed product ids, newest first.
	Recent []string `json:"recent,omitempty"`
	// Sessions counts visits.
	Sessions int `json:"sessions,omitempty"`
	// LastSeen is the time of the last page view.
	LastSeen time.Time `json:"last_seen,omitzero"`
	// Landing is the path of the first page view of the latest session
	// (visit.landing in expressions); "" when not recorded.
	Landing string `json:"landing,omitempty"`
	// SessionStart is when the session Landing belongs to started: of two
	// copies, the later session's landing wins.
	SessionStart time.Time `json:"session_start,omitzero"`
	// Links are other ids known to be the same person.
	Links []string `json:"links,omitempty"`
	// Caps counts impressions per campaign in daily buckets, one count per
	// node, so that counts made on two nodes at once merge without loss.
	Caps map[string][]NodeDayCount `json:"caps,omitempty"`
	// Variants remembers the experiment variant shown, by experiment id, so
	// that a person keeps it after logging in or a weight change.
	Variants map[string]string `json:"variants,omitempty"`
	// Exposures records the latest exposure per campaign, for attributing
	// conversions.
	Exposures map[string]Exposure `json:"exposures,omitempty"`
	// Stamps hold, per register, the write that last set or removed it:
	// "a:<name>" an attribute, "s:<name>" a score, "c:p" the
	// personalisation consent, "k:<product>" a cart line, "r" the recent
	// list. A stamp whose value is absent records a removal, so that a
	// copy still holding the value cannot bring it back.
	Stamps map[string]Stamp `json:"stamps,omitempty"`
	// touched are the registers the write in progress sets even where
	// their value does not change (see Touch).
	touched []string
	// NodeViews are the per-node counts Views sums: per category, one
	// count per (day, node). Node "" holds counts made before nodes were
	// counted apart.
	NodeViews map[string][]NodeDayCount `json:"node_views,omitempty"`
	// NodeCustom are the per-node counts Custom sums.
	NodeCustom map[string][]NodeDayCount `json:"node_custom,omitempty"`
	// NodeSessions are the per-node counts Sessions sums.
	NodeSessions map[string]int `json:"node_sessions,omitempty"`
	// Version orders writes of this profile across the cluster.
	Version Version `json:"version"`
	// Born is the version of the first write of this profile since it was
	// created (or last erased): an erasure newer than Born removes the
	// profile on every node, even one written since by a node that had
	// not heard of the erasure, because such a write still holds the
	// erased data. 0 in records written before it existed: Version counts.
	Born Version `json:"born,string,omitempty"`
	// Node is the node that wrote this version.
	Node string `json:"node,omitempty"`
	// Updated is the wall-clock time of the last write.
	Updated time.Time `json:"updated,omitzero"`
}

// Consent records what a person agreed to. A nil Personalization means not
// asked, which the proxy treats as agreement unless configured otherwise.
type Consent struct {
	Personalization *bool `json:"personalization,omitempty"`
}

// Allows reports whether the person may be shown personalised content.
func (c Consent) Allows() bool { return c.Personalization == nil || *c.Personalization }

// Cart is a visitor's current cart.
type Cart struct {
	Items     []CartItem `json:"items,omitempty"`
	UpdatedAt time.Time  `json:"updated_at,omitzero"`
}

// CartItem is one line of a cart.
type CartItem struct {
	Product string  `json:"product"`
	Qty     int     `json:"qty"`
	Price   float64 `json:"price"`
}

// Value is the cart's total.
func (c Cart) Value() float64 {
	var v float64
	for _, it := range c.Items {
		v += float64(it.Qty) * it.Price
	}
	return v
}

// Count is the number of items in the cart.
func (c Cart) Count() int {
	n := 0
	for _, it := range c.Items {
		n += it.Qty
	}
	return n
}

// Purchase is one order.
type Purchase struct {
	ID      string    `json:"id,omitempty"`
	Product string    `json:"product,omitempty"`
	Value   float64   `json:"value"`
	At      time.Time `json:"at"`
}

// DayIndex is the day a time falls in, as DayCount and every daily
// counter number days: days since the Unix epoch in loc.
func DayIndex(t time.Time, loc *time.Location) int32 {
	y, m, d := t.In(loc).Date()
	return int32(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400)
}

// DayCount is a count for one day, the day given as days since the Unix
// epoch in the configured time zone.
type DayCount struct {
	Day   int32 `json:"d"`
	Count int32 `json:"n"`
}

// NodeDayCount is one node's count for one day (days since the Unix epoch
// in the configured time zone). Counts of different nodes add up; two
// counts of the same node and day merge by taking the larger.
type NodeDayCount struct {
	Day   int32  `json:"d"`
	Node  string `json:"node"`
	Count int32  `json:"n"`
}

// Exposure is the latest time a person saw a campaign, and in which variant.
type Exposure struct {
	Variant string    `json:"variant,omitempty"`
	At      time.Time `json:"at"`
	// Converted is when the last conversion was attributed to this
	// exposure; zero when none was.
	Converted time.Time `json:"converted,omitzero"`
	// Enrolled is when the person entered Variant for experiment metrics:
	// the first exposure to it. Zero in exposures recorded before metrics
	// existed; the next exposure enrolls them.
	Enrolled time.Time `json:"enrolled,omitzero"`
	// PreOrders and PreRevenue are the person's orders and their value in
	// the 30 days before Enrolled: the covariate CUPED adjusts with, fixed
	// at enrollment so later purchases cannot leak into it.
	PreOrders  int     `json:"pre_orders,omitempty"`
	PreRevenue float64 `json:"pre_revenue,omitempty"`
	// Orders and Revenue are the conversions and purchase value credited
	// to Variant since Enrolled, so that the statistics can keep sums of
	// squares per person rather than per order.
	Orders  int     `json:"orders,omitempty"`
	Revenue float64 `json:"revenue,omitempty"`
}

// MergeEnrollment returns x with the enrollment fields (Enrolled, PreOrders,
// PreRevenue, Orders, Revenue) merged with y's, for two copies of one
// person's exposure to the same variant: the earlier enrollment and its
// covariate, and the larger outcome totals (they only grow, so the larger
// has seen more). For different variants x is returned as it is.
func (x Exposure) MergeEnrollment(y Exposure) Exposure {
	if x.Variant != y.Variant || y.Enrolled.IsZero() {
		return x
	}
	if x.Enrolled.IsZero() || y.Enrolled.Before(x.Enrolled) {
		x.Enrolled, x.PreOrders, x.PreRevenue = y.Enrolled, y.PreOrders, y.PreRevenue
	}
	x.Orders = max(x.Orders, y.Orders)
	x.Revenue = max(x.Revenue, y.Revenue)
	return x
}

// Register keys of Stamps: a prefix and a name, or a whole key.
const (
	RegisterAttr    = "a:"  // + attribute name
	RegisterScore   = "s:"  // + score name
	RegisterCart    = "k:"  // + product id
	RegisterConsent = "c:p" // the personalisation consent
	RegisterRecent  = "r"   // the recent list
)

// Touch marks register key (RegisterAttr+name, RegisterConsent, …) as
// written by the write in progress even when its value does not change:
// an operator who sets a value this node already shows, or removes a key
// it does not hold, still wins over an older write from another node that
// has not arrived yet. The store stamps touched registers with the
// write's version; the marks end with the write.
func (p *Profile) Touch(key string) { p.touched = append(p.touched, key) }

// TakeTouched returns the registers marked by Touch and forgets them.
func (p *Profile) TakeTouched() []string {
	t := p.touched
	p.touched = nil
	return t
}

// Clone returns a deep copy that the caller may change.
func (p *Profile) Clone() *Profile {
	c := *p
	c.touched = nil
	if p.Attrs != nil {
		c.Attrs = make(map[string]any, len(p.Attrs))
		for k, v := range p.Attrs {
			c.Attrs[k] = v
		}
	}
	if p.Scores != nil {
		c.Scores = make(map[string]float64, len(p.Scores))
		for k, v := range p.Scores {
			c.Scores[k] = v
		}
	}
	if p.Consent.Personalization != nil {
		b := *p.Consent.Personalization
		c.Consent.Personalization = &b
	}
	c.Cart.Items = append([]CartItem(nil), p.Cart.Items...)
	c.Purchases = append([]Purchase(nil), p.Purchases...)
	if p.Views != nil {
		c.Views = make(map[string][]DayCount, len(p.Views))
		for k, v := range p.Views {
			c.Views[k] = append([]DayCount(nil), v...)
		}
	}
	if p.Custom != nil {
		c.Custom = make(map[string][]DayCount, len(p.Custom))
		for k, v := range p.Custom {
			c.Custom[k] = append([]DayCount(nil), v...)
		}
	}
	c.Recent = append([]string(nil), p.Recent...)
	if p.Caps != nil {
		c.Caps = make(map[string][]NodeDayCount, len(p.Caps))
		for k, v := range p.Caps {
			c.Caps[k] = append([]NodeDayCount(nil), v...)
		}
	}
	if p.Variants != nil {
		c.Variants = make(map[string]string, len(p.Variants))
		for k, v := range p.Variants {
			c.Variants[k] = v
		}
	}
	if p.Exposures != nil {
		c.Exposures = make(map[string]Exposure, len(p.Exposures))
		for k, v := range p.Exposures {
			c.Exposures[k] = v
		}
	}
	c.Links = append([]string(nil), p.Links...)
	if p.Stamps != nil {
		c.Stamps = make(map[string]Stamp, len(p.Stamps))
		for k, v := range p.Stamps {
			c.Stamps[k] = v
		}
	}
	c.NodeViews = cloneNodeCounts(p.NodeViews)
	c.NodeCustom = cloneNodeCounts(p.NodeCustom)
	if p.NodeSessions != nil {
		c.NodeSessions = make(map[string]int, len(p.NodeSessions))
		for k, v := range p.NodeSessions {
			c.NodeSessions[k] = v
		}
	}
	return &c
}

func cloneNodeCounts(m map[string][]NodeDayCount) map[string][]NodeDayCount {
	if m == nil {
		return nil
	}
	c := make(map[string][]NodeDayCount, len(m))
	for k, v := range m {
		c[k] = append([]NodeDayCount(nil), v...)
	}
	return c
}

// PurchasesSince sums the value and count of purchases at or after t.
func (p *Profile) PurchasesSince(t time.Time) (total float64, n int) {
	for i := len(p.Purchases) - 1; i >= 0; i-- {
		if p.Purchases[i].At.Before(t) {
			break
		}
		total += p.Purchases[i].Value
		n++
	}
	return total, n
}
