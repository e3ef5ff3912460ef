package decide

import (
	"github.com/marquee-proxy/marquee/internal/boundedmap"
	"github.com/marquee-proxy/marquee/profile"
)

// offerKey names one rendering: a template for a profile snapshot (and a
// day, for templates whose output changes with the date). Profile
// snapshots are immutable and every write makes a new one, so an entry can
// never be stale: a changed profile is a different key. Offer templates see
// only .Profile, so the key decides the output.
type offerKey struct {
	tmpl int // index into Engine.templates
	p    *profile.Profile
	day  int32
}

// offerCache memoises rendered offers; bounded, a dropped entry costs one
// render.
type offerCache = boundedmap.Map[offerKey, []byte]

func newOfferCache(entries int) *offerCache { return boundedmap.New[offerKey, []byte](entries) }
