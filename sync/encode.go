package sync

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"slices"

	"github.com/marquee-proxy/marquee/profile"
)

// storedProfile is the form a profile is stored in: the profile's own JSON
// with its merge metadata packed, and without what can be derived from it.
// Node names are stored once, in Nodes (sorted); stamps and per-node counts
// refer to them by index:
//
//   - Stamps: register key → [version, node index];
//   - NodeViews, NodeCustom: name → flat (day, node index, count) triples
//     sorted by (day, node);
//   - NodeSessions: flat (node index, count) pairs sorted by node.
//
// The sums readers see (views, custom, sessions) are not stored: decoding
// rebuilds them from the per-node counts. Records written before profiles
// merged field by field carry the sums and none of the rest, which is how
// they are recognised and migrated. The packed fields come first so that
// "version" and "node" stay near the end for rawVersion.
type storedProfile struct {
	Nodes        []string                      `json:"nodes,omitempty"`
	Stamps       map[string]packedStamp        `json:"stamps,omitempty"`
	NodeViews    map[string]packedInts         `json:"node_views,omitempty"`
	NodeCustom   map[string]packedInts         `json:"node_custom,omitempty"`
	NodeSessions []int                         `json:"node_sessions,omitempty"`
	Views        map[string][]profile.DayCount `json:"views,omitempty"`
	Custom       map[string][]profile.DayCount `json:"custom,omitempty"`
	Sessions     int                           `json:"sessions,omitempty"`
	*profile.Profile
}

// packedStamp is a stamp as stored: its version and the index of its node
// in storedProfile.Nodes.
type packedStamp [2]uint64

// packedInts is a JSON array of int32s, decoded without reflection into a
// slice of the exact length.
type packedInts []int32

// UnmarshalJSON decodes a JSON array of integers. encoding/json has
// checked b is valid JSON.
func (p *packedInts) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) < 2 || b[0] != '[' || b[len(b)-1] != ']' {
		return errors.New("sync: stored count list is not an array")
	}
	b = b[1 : len(b)-1]
	if len(bytes.TrimSpace(b)) == 0 {
		*p = packedInts{}
		return nil
	}
	out := make(packedInts, 0, bytes.Count(b, []byte{','})+1)
	for {
		i := bytes.IndexByte(b, ',')
		f := b
		if i >= 0 {
			f = b[:i]
		}
		v, ok := parseInt32(bytes.TrimSpace(f))
		if !ok {
			return errors.New("sync: stored count list holds a non-integer")
		}
		out = append(out, v)
		if i < 0 {
			break
		}
		b = b[i+1:]
	}
	*p = out
	return nil
}

// parseInt32 parses a decimal integer that fits an int32.
func parseInt32(b []byte) (int32, bool) {
	neg := len(b) > 0 && b[0] == '-'
	if neg {
		b = b[1:]
	}
	if len(b) == 0 || len(b) > 10 {
		return 0, false
	}
	var v int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int64(c-'0')
	}
	if neg {
		v = -v
	}
	if v < math.MinInt32 || v > math.MaxInt32 {
		return 0, false
	}
	return int32(v), true
}

var errBadNode = errors.New("sync: stored profile refers to a node it does not list")

// marshalProfile encodes the profile as stored. p is in canonical form
// (every writer puts it there); one still in the previous format is
// migrated first so that nothing of it is lost.
func marshalProfile(p *profile.Profile) ([]byte, error) {
	p = migrated(p)
	s := storedProfile{Profile: p}
	var nodes []string
	for _, st := range p.Stamps {
		nodes = append(nodes, st.Node)
	}
	for _, m := range [2]map[string][]profile.NodeDayCount{p.NodeViews, p.NodeCustom} {
		for _, list := range m {
			for _, c := range list {
				nodes = append(nodes, c.Node)
			}
		}
	}
	for n := range p.NodeSessions {
		nodes = append(nodes, n)
	}
	slices.Sort(nodes)
	nodes = slices.Compact(nodes)
	s.Nodes = nodes
	index := func(n string) int { i, _ := slices.BinarySearch(nodes, n); return i }
	if len(p.Stamps) > 0 {
		s.Stamps = make(map[string]packedStamp, len(p.Stamps))
		for k, st := range p.Stamps {
			s.Stamps[k] = packedStamp{uint64(st.V), uint64(index(st.Node))}
		}
	}
	pack := func(m map[string][]profile.NodeDayCount) map[string]packedInts {
		if len(m) == 0 {
			return nil
		}
		out := make(map[string]packedInts, len(m))
		for k, list := range m {
			list = slices.Clone(list)
			slices.SortFunc(list, compareNodeDay)
			flat := make(packedInts, 0, 3*len(list))
			for _, c := range list {
				flat = append(flat, c.Day, int32(index(c.Node)), c.Count)
			}
			out[k] = flat
		}
		return out
	}
	s.NodeViews = pack(p.NodeViews)
	s.NodeCustom = pack(p.NodeCustom)
	if len(p.NodeSessions) > 0 {
		s.NodeSessions = make([]int, 0, 2*len(p.NodeSessions))
		for i, n := range nodes {
			if c, ok := p.NodeSessions[n]; ok {
				s.NodeSessions = append(s.NodeSessions, i, c)
			}
		}
	}
	return json.Marshal(&s)
}

// unmarshalProfile decodes a stored profile, rebuilding the sums readers
// see from the per-node counts. Only a record of the previous format is
// migrated: one in the current format is canonical as stored.
func unmarshalProfile(data []byte) (*profile.Profile, error) {
	p := new(profile.Profile)
	s := storedProfile{Profile: p}
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, err
	}
	node := func(i uint64) (string, error) {
		if i >= uint64(len(s.Nodes)) {
			return "", errBadNode
		}
		return s.Nodes[i], nil
	}
	if len(s.Stamps) > 0 {
		p.Stamps = make(map[string]profile.Stamp, len(s.Stamps))
		for k, st := range s.Stamps {
			n, err := node(st[1])
			if err != nil {
				return nil, err
			}
			p.Stamps[k] = profile.Stamp{V: profile.Version(st[0]), Node: n}
		}
	}
	var err error
	if p.NodeViews, p.Views, err = unpackCounts(s.NodeViews, s.Nodes); err != nil {
		return nil, err
	}
	if p.NodeCustom, p.Custom, err = unpackCounts(s.NodeCustom, s.Nodes); err != nil {
		return nil, err
	}
	if len(s.NodeSessions)%2 != 0 {
		return nil, errors.New("sync: stored profile with an odd session list")
	}
	if len(s.NodeSessions) > 0 {
		p.NodeSessions = make(map[string]int, len(s.NodeSessions)/2)
		for i := 0; i < len(s.NodeSessions); i += 2 {
			n, err := node(uint64(s.NodeSessions[i]))
			if err != nil {
				return nil, err
			}
			p.NodeSessions[n] = s.NodeSessions[i+1]
			p.Sessions += s.NodeSessions[i+1]
		}
	}
	// The previous format: sums without per-node counts.
	if p.NodeViews == nil {
		p.Views = s.Views
	}
	if p.NodeCustom == nil {
		p.Custom = s.Custom
	}
	if p.NodeSessions == nil {
		p.Sessions = s.Sessions
	}
	if needsMigration(p) {
		migrate(p)
	}
	return p, nil
}

// unpackCounts turns stored (day, node index, count) triples, sorted by
// (day, node), into per-node counts and their per-day sums.
func unpackCounts(m map[string]packedInts, nodes []string) (map[string][]profile.NodeDayCount, map[string][]profile.DayCount, error) {
	if len(m) == 0 {
		return nil, nil, nil
	}
	per := make(map[string][]profile.NodeDayCount, len(m))
	sums := make(map[string][]profile.DayCount, len(m))
	for k, flat := range m {
		if len(flat)%3 != 0 {
			return nil, nil, errors.New("sync: stored profile with a malformed count list")
		}
		if len(flat) == 0 {
			continue
		}
		list := make([]profile.NodeDayCount, len(flat)/3)
		sum := make([]profile.DayCount, 0, len(list))
		for i := range list {
			day, ni, c := flat[3*i], flat[3*i+1], flat[3*i+2]
			if ni < 0 || int(ni) >= len(nodes) {
				return nil, nil, errBadNode
			}
			list[i] = profile.NodeDayCount{Day: day, Node: nodes[ni], Count: c}
			if n := len(sum); n > 0 && sum[n-1].Day == day {
				sum[n-1].Count += c
				continue
			}
			sum = append(sum, profile.DayCount{Day: day, Count: c})
		}
		per[k], sums[k] = list, sum
	}
	return per, sums, nil
}
