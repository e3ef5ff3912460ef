package stats

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/marquee-proxy/marquee/profile"
)

// NodeState is one node's counts, as gossiped to the cluster: a G-counter
// entry keyed by (Node, Started) and HyperLogLog sketches of the visitors it
// saw. Its JSON form is the wire format.
type NodeState struct {
	// Node names the node that counted.
	Node string `json:"node"`
	// Started is when the node's Recorder was created. With Node it keys
	// the counters, so a restarted node, which counts from zero again,
	// does not lose to the higher counts of its previous run.
	Started time.Time `json:"started"`
	// At is when the snapshot was taken. Merge takes each campaign's
	// configuration from the newest state.
	At time.Time `json:"at"`
	// Campaigns are sorted by name.
	Campaigns []CampaignState `json:"campaigns"`
}

// CampaignState is one campaign's counts on one node.
type CampaignState struct {
	// Campaign is the campaign's name.
	Campaign string `json:"campaign"`
	// Configured reports whether the campaign was registered on the node,
	// i.e. whether the variants' specs come from configuration rather than
	// from events for pairs the node did not know.
	Configured bool `json:"configured,omitempty"`
	// Experiment is how the campaign's experiment is judged, as
	// configured; omitted for the defaults.
	Experiment *ExperimentSpec `json:"experiment,omitempty"`
	// Variants are in configuration order, unregistered ones last.
	Variants []VariantState `json:"variants"`
}

// VariantState is one variant's counts on one node.
type VariantState struct {
	VariantSpec
	// Exposures counts Expose calls on this node.
	Exposures uint64 `json:"exposures"`
	// Conversions counts Convert calls on this node.
	Conversions uint64 `json:"conversions"`
	// Visitors is the HyperLogLog sketch (precision 14, the binary form of
	// github.com/axiomhq/hyperloglog) of exposed visitors; empty when none.
	Visitors []byte `json:"visitors,omitempty"`
	// Converters is the sketch of converting visitors; empty when none.
	Converters []byte `json:"converters,omitempty"`
	// Moments are the per-visitor sums of enrolled visitors' metrics on
	// this node; omitted when none enrolled. Absent in states saved before
	// metrics existed, which read as none.
	Moments *Moments `json:"moments,omitempty"`
	// Daily are the Moments added each day, for the last DailyDays days
	// with counts, oldest first.
	Daily []DayMoments `json:"daily,omitempty"`
}

// sketchPrecision is the precision every sketch is built with; sketches of
// different precision cannot be merged.
const sketchPrecision = 14

// ErrInvalidState is wrapped by every error DecodeNodeState returns.
var ErrInvalidState = errors.New("stats: invalid node state")

// State returns a snapshot of r's counts for gossip, keyed by node. It
// copies the sketches, so it costs about 44 KiB of JSON per variant that
// has visitors and converters; it is meant for a periodic push, not a
// per-request path.
func (r *Recorder) State(node string) NodeState {
	idx := r.index.Load()
	now := r.now()
	today := profile.DayIndex(now, r.loc)
	st := NodeState{Node: node, Started: r.started, At: now.UTC()}
	names := make([]string, 0, len(idx.campaigns))
	for name := range idx.campaigns {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		cs := idx.campaigns[name]
		if len(cs.order) == 0 {
			continue // registered beyond Config.MaxSeries
		}
		c := CampaignState{Campaign: name, Configured: len(cs.specs) > 0}
		if !cs.exp.isZero() {
			exp := cs.exp.clone()
			c.Experiment = &exp
		}
		for _, v := range cs.order {
			s := cs.variants[v]
			spec := cs.specs[v]
			spec.Name = v
			vs := VariantState{VariantSpec: spec, Exposures: s.exposures.Load(), Conversions: s.conversions.Load()}
			s.mu.Lock()
			if s.seen {
				vs.Visitors, _ = s.visitors.MarshalBinary() // never fails
			}
			if s.converted {
				vs.Converters, _ = s.converters.MarshalBinary()
			}
			if s.moments != (Moments{}) {
				m := s.moments
				vs.Moments = &m
			}
			if s.days != nil {
				vs.Daily = s.days.list(today)
			}
			s.mu.Unlock()
			c.Variants = append(c.Variants, vs)
		}
		st.Campaigns = append(st.Campaigns, c)
	}
	return st
}

// Report returns the statistics of r's own counts: Merge of r.State(node).
func (r *Recorder) Report(node string) Report {
	return Merge(r.State(node))
}

// DecodeNodeState decodes a NodeState from JSON received from another node
// and validates it: weights finite and non-negative, names non-empty, and
// every sketch a well-formed precision-14 HyperLogLog. It never panics. The
// caller bounds the size of data.
func DecodeNodeState(data []byte) (NodeState, error) {
	var st NodeState
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&st); err != nil {
		return NodeState{}, fmt.Errorf("%w: %w", ErrInvalidState, err)
	}
	if dec.More() {
		return NodeState{}, fmt.Errorf("%w: data after the JSON object", ErrInvalidState)
	}
	if err := st.Validate(); err != nil {
		return NodeState{}, err
	}
	return st, nil
}

// Validate reports the first problem that would make st unsafe to merge,
// wrapped in ErrInvalidState.
func (st *NodeState) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalidState, fmt.Sprintf(format, args...))
	}
	if strings.TrimSpace(st.Node) == "" {
		return bad("empty node name")
	}
	for i, c := range st.Campaigns {
		if c.Campaign == "" {
			return bad("campaigns[%d]: empty campaign name", i)
		}
		for j, v := range c.Variants {
			switch {
			case v.Name == "":
				return bad("campaigns[%d].variants[%d]: empty variant name", i, j)
			case v.Weight < 0 || math.IsNaN(v.Weight) || math.IsInf(v.Weight, 0):
				return bad("campaigns[%d].variants[%d].weight: %v", i, j, v.Weight)
			}
			if err := checkSketch(v.Visitors); err != nil {
				return bad("campaigns[%d].variants[%d].visitors: %v", i, j, err)
			}
			if err := checkSketch(v.Converters); err != nil {
				return bad("campaigns[%d].variants[%d].converters: %v", i, j, err)
			}
			if v.Moments != nil && !v.Moments.valid() {
				return bad("campaigns[%d].variants[%d].moments: a sum is negative or not finite", i, j)
			}
			if len(v.Daily) > DailyDays {
				return bad("campaigns[%d].variants[%d].daily: %d days, at most %d", i, j, len(v.Daily), DailyDays)
			}
			for k, d := range v.Daily {
				if _, err := parseDay(d.Day); err != nil {
					return bad("campaigns[%d].variants[%d].daily[%d].day: %q: want YYYY-MM-DD", i, j, k, d.Day)
				}
				if !d.Moments.valid() {
					return bad("campaigns[%d].variants[%d].daily[%d]: a sum is negative or not finite", i, j, k)
				}
			}
		}
	}
	return nil
}

// checkSketch reports whether b is empty or a sketch Merge can use.
func checkSketch(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	_, err := decodeSketch(b)
	return err
}

// Compact returns the newest state of each (node, started) key, sorted by
// node then start. Counters only grow and sketches only gain visitors, so a
// newer state of a key contains its older ones: Merge(Compact(s)...) equals
// Merge(s...). A node keeps what it heard from the cluster this way in
// memory bounded by the number of node runs.
func Compact(states []NodeState) []NodeState {
	newest := map[nodeKey]int{}
	for i, st := range states {
		key := nodeKey{st.Node, st.Started.UnixNano()}
		if j, ok := newest[key]; !ok || st.At.After(states[j].At) {
			newest[key] = i
		}
	}
	out := make([]NodeState, 0, len(newest))
	for _, i := range newest {
		out = append(out, states[i])
	}
	slices.SortFunc(out, func(a, b NodeState) int {
		return cmp.Or(cmp.Compare(a.Node, b.Node), a.Started.Compare(b.Started))
	})
	return out
}
