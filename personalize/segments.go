package personalize

import (
	"math"
	"time"
)

// SegmentSample is how many stored profiles EstimateSegments evaluates:
// enough for a 95% interval of at most ±1 percentage point of the
// profiles, at about 15 ms per thousand profiles evaluated.
const SegmentSample = 10000

// segmentEstimateTTL is how long an estimate is served before another
// scan: the dashboard polls every few seconds, a scan of a large store
// takes a second, and members change slowly.
const segmentEstimateTTL = time.Minute

// SegmentEstimate is how many stored profiles each segment holds,
// estimated from a uniform random sample of the store (GET /v1/segments).
type SegmentEstimate struct {
	// GeneratedAt is when the sample was drawn.
	GeneratedAt time.Time `json:"generated_at"`
	// Profiles is the number of profiles stored.
	Profiles int `json:"profiles"`
	// Sampled is the number of profiles evaluated: all of them when
	// Exact.
	Sampled int `json:"sampled"`
	// Exact is set when every profile was evaluated: the counts are the
	// members, the intervals empty.
	Exact bool `json:"exact"`
	// Segments are the configured segments, in configuration order.
	Segments []SegmentCount `json:"segments"`
}

// SegmentCount is one segment's estimated membership.
type SegmentCount struct {
	// Name is the segment's name.
	Name string `json:"name"`
	// Estimate is the estimated number of stored profiles in the segment:
	// the sampled share scaled to Profiles.
	Estimate int `json:"estimate"`
	// Low and High bound the 95% interval of the count: Wilson's score
	// interval of the share, narrowed by the finite-population correction
	// and scaled.
	Low  int `json:"low"`
	High int `json:"high"`
	// Members is how many sampled profiles are in the segment.
	Members int `json:"sampled_members"`
	// PerRequest is set when the segment reads the request (device, geo,
	// visit, time…): membership changes from one request to the next,
	// and the counts are what the segment gives for a request that
	// carries nothing. They are not a membership estimate, nor a floor:
	// a negated condition such as device.type != "mobile" matches every
	// profile then.
	PerRequest bool `json:"per_request,omitempty"`
}

// EstimateSegments returns the membership of each configured segment,
// from SegmentSample profiles drawn uniformly from the store and
// evaluated as a decision would evaluate them now, without a request
// (SegmentCount.PerRequest marks the segments that read one). An estimate
// less than a minute old, under the same configuration, is returned again
// instead of a new scan; callers must not modify it. It runs off the request path, on an admin call.
func (p *Personalizer) EstimateSegments() (*SegmentEstimate, error) {
	p.segMu.Lock()
	defer p.segMu.Unlock()
	snap, now := p.snap.Load(), p.now()
	if c := p.segCache; c != nil && c.version == snap.Version && now.Sub(c.est.GeneratedAt) < segmentEstimateTTL {
		return c.est, nil
	}
	ids, total, err := p.store.SampleIDs(SegmentSample)
	if err != nil {
		return nil, err
	}
	names := snap.Config.Segments
	index := make(map[string]int, len(names))
	for i, s := range names {
		index[s.Name] = i
	}
	members := make([]int, len(names))
	n := 0
	for _, id := range ids {
		prof, err := p.store.Get(id)
		if err != nil {
			return nil, err
		}
		if prof == nil {
			continue // erased since the scan
		}
		n++
		d := snap.Engine.Acquire(prof, []byte(id), now)
		for _, name := range d.SegmentNames() {
			if i, ok := index[name]; ok {
				members[i]++
			}
		}
		d.Release()
	}
	total = max(total-(len(ids)-n), n)
	est := &SegmentEstimate{GeneratedAt: now.UTC(), Profiles: total, Sampled: n, Exact: n == total, Segments: make([]SegmentCount, len(names))}
	for i, s := range names {
		c := SegmentCount{Name: s.Name, Members: members[i], PerRequest: snap.Engine.SegmentReadsRequest(s.Name)}
		c.Estimate, c.Low, c.High = scaleShare(members[i], n, total)
		est.Segments[i] = c
	}
	p.segCache = &segmentCache{est: est, version: snap.Version}
	return est, nil
}

// segmentCache is the last estimate and the configuration it was made
// under.
type segmentCache struct {
	est     *SegmentEstimate
	version uint64
}

// z95 is the standard normal quantile of a two-sided 95% interval.
const z95 = 1.959963984540054

// scaleShare turns m members among n sampled of a population of total
// into an estimated count and its 95% interval. The share's interval is
// Wilson's score interval, which stays honest at 0 and n members (where
// the normal approximation claims no uncertainty), narrowed by the
// finite-population correction sqrt((N-n)/(N-1)) since the sample is
// drawn without replacement; counts are clamped to what the sample has
// proven (at least m members, at least n-m non-members) and widened to
// hold the estimate.
func scaleShare(m, n, total int) (est, low, high int) {
	if n == 0 {
		return 0, 0, total
	}
	N, nn, p := float64(total), float64(n), float64(m)/float64(n)
	est = int(math.Round(p * N))
	if n >= total {
		return m, m, m
	}
	z2 := z95 * z95
	center := (p + z2/(2*nn)) / (1 + z2/nn)
	half := z95 / (1 + z2/nn) * math.Sqrt(p*(1-p)/nn+z2/(4*nn*nn))
	half *= math.Sqrt((N - nn) / (N - 1))
	// The narrowed interval is centred on Wilson's centre, not on the
	// share: it must still hold the estimate.
	low = min(max(int(math.Floor((center-half)*N)), m), est)
	high = max(min(int(math.Ceil((center+half)*N)), total-(n-m)), est)
	return est, low, high
}
