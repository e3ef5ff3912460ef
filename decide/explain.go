package decide

import (
	"time"

	"github.com/marquee-proxy/marquee/profile"
)

// Explanation says, for one visitor at one moment, what every segment
// evaluates to and why each campaign fills its slot or not: the answer to
// "personalisation silently does nothing".
type Explanation struct {
	GlobalHoldout bool                `json:"global_holdout"`
	Segments      []SegmentResult     `json:"segments"`
	Campaigns     []CampaignExplained `json:"campaigns"`
	Errors        int                 `json:"condition_errors"`
}

// SegmentResult is one segment's value.
type SegmentResult struct {
	Name  string `json:"name"`
	Value bool   `json:"value"`
}

// CampaignExplained is one campaign's outcome.
type CampaignExplained struct {
	ID       string `json:"id"`
	Slot     string `json:"slot"`
	Priority int    `json:"priority"`
	Chosen   bool   `json:"chosen"`
	Reason   string `json:"reason"`
	Variant  string `json:"variant,omitempty"`
	CapCount int    `json:"cap_count,omitempty"`
	CapMax   int    `json:"cap_max,omitempty"`
}

// Explain evaluates every segment and every campaign for p, slot by slot in
// priority order, exactly as a page with every slot would, for a request
// that says nothing about itself (request context names read "").
func (e *Engine) Explain(p *profile.Profile, id []byte, now time.Time) Explanation {
	return e.ExplainIn(p, id, now, nil)
}

// ExplainIn is Explain for a request whose context is c.
func (e *Engine) ExplainIn(p *profile.Profile, id []byte, now time.Time, c Context) Explanation {
	d := e.Acquire(p, id, now)
	defer d.Release()
	d.SetContext(c)
	var x Explanation
	x.GlobalHoldout = d.GlobalHoldout
	for i, s := range e.segments {
		x.Segments = append(x.Segments, SegmentResult{Name: s.name, Value: d.segment(i)})
	}
	for _, slot := range e.Slots() {
		filled := false
		for _, c := range e.bySlot[slot] {
			ce := CampaignExplained{ID: c.ID, Slot: c.Slot, Priority: c.Priority, CapMax: c.capMax}
			if c.capMax > 0 {
				ce.CapCount = d.CapCount(c)
			}
			ch, reason := d.evaluate(c)
			switch {
			case reason != ReasonChosen:
				ce.Reason = reason
			case filled:
				ce.Reason = ReasonOutranked
			default:
				filled = true
				d.used[c.index] = true
				ce.Chosen, ce.Reason = true, ReasonChosen
			}
			ce.Variant = ch.VariantName()
			x.Campaigns = append(x.Campaigns, ce)
		}
	}
	x.Errors = d.Errors
	return x
}
