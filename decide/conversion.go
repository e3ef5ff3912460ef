package decide

import (
	"strings"
	"time"

	"github.com/marquee-proxy/marquee/config"
	"github.com/marquee-proxy/marquee/profile"
)

// conversions is the compiled conversions config.
type conversions struct {
	exact  map[string]bool
	prefix []string
	events map[string]bool
	window time.Duration
}

func compileConversions(c config.Conversions) conversions {
	out := conversions{exact: map[string]bool{}, events: map[string]bool{}, window: c.Window.D()}
	for _, p := range c.Paths {
		if rest, ok := strings.CutSuffix(p, "*"); ok {
			out.prefix = append(out.prefix, rest)
		} else {
			out.exact[p] = true
		}
	}
	for _, e := range c.Events {
		out.events[e] = true
	}
	return out
}

// IsConversionPath reports whether a request for path is a conversion.
func (e *Engine) IsConversionPath(path []byte) bool {
	if len(e.conversions.exact) == 0 && len(e.conversions.prefix) == 0 {
		return false
	}
	if e.conversions.exact[string(path)] {
		return true
	}
	for _, p := range e.conversions.prefix {
		if len(path) >= len(p) && string(path[:len(p)]) == p {
			return true
		}
	}
	return false
}

// TracksConversions reports whether any conversion is configured: without
// one, exposures need not be remembered in profiles for attribution.
func (e *Engine) TracksConversions() bool {
	c := &e.conversions
	return len(c.exact) > 0 || len(c.prefix) > 0 || len(c.events) > 0
}

// IsConversionEvent reports whether an event of type typ is a conversion.
func (e *Engine) IsConversionEvent(typ string) bool { return e.conversions.events[typ] }

// clockSkew is how far before an exposure a conversion's time may lie and
// still be credited to it: event timestamps come from the shop's backend,
// whose clock and second-precision timestamps need not match the edge's.
const clockSkew = 5 * time.Minute

// Attribution is one conversion credited to a campaign's variant.
type Attribution struct {
	// Campaign is the campaign id.
	Campaign string
	// Variant is the variant name, "" without an experiment.
	Variant string
}

// Attribute returns the exposures of p that a conversion at now is
// credited to: each campaign seen within the attribution window and not
// already credited with a conversion since that exposure. The caller
// records them and marks them converted in the profile (MarkConverted).
func (e *Engine) Attribute(p *profile.Profile, now time.Time) []Attribution {
	var out []Attribution
	for id, x := range p.Exposures {
		if now.Sub(x.At) > e.conversions.window || now.Before(x.At.Add(-clockSkew)) {
			continue
		}
		if !x.Converted.IsZero() && !x.Converted.Before(x.At) {
			continue
		}
		out = append(out, Attribution{Campaign: id, Variant: x.Variant})
	}
	return out
}

// MarkConverted records on p that its attributed exposures converted at
// now, so that one exposure is credited once.
func MarkConverted(p *profile.Profile, attrs []Attribution, now time.Time) {
	for _, a := range attrs {
		if x, ok := p.Exposures[a.Campaign]; ok {
			// Never before the exposure, or the same exposure would be
			// credited again.
			x.Converted = now
			if x.Converted.Before(x.At) {
				x.Converted = x.At
			}
			p.Exposures[a.Campaign] = x
		}
	}
}
