package decide

import (
	"unsafe"

	"github.com/marquee-proxy/marquee/internal/boundedmap"
	"github.com/marquee-proxy/marquee/profile"
)

// offerKey names one rendering: a template for a profile snapshot (and a
// day and the page's product, for templates calling recommend, whose
// output changes with the date and leaves that product out). Profile
// snapshots are immutable and every write makes a new one, so an entry can
// never be stale: a changed profile is a different key. Offer templates see
// only .Profile and recommend, so the key decides the output.
type offerKey struct {
	tmpl int // index into Engine.templates
	p    *profile.Profile
	day  int32
	page string // a catalog product id, "" for none
}

// offerEntry is a rendered offer, or a rendering that failed past a limit
// (failed set), remembered so that the same profile does not pay for the
// failure again.
type offerEntry struct {
	b      []byte
	failed error
}

// offerCache memoises rendered offers; bounded by entries and by bytes, a
// dropped entry costs one render.
type offerCache = boundedmap.Map[offerKey, offerEntry]

// offerEntryOverhead is what an entry costs besides its bytes: the key,
// the slice header, the map's share.
const offerEntryOverhead = int64(unsafe.Sizeof(offerKey{})+unsafe.Sizeof(offerEntry{})) + 16

func newOfferCache(entries int, maxBytes int64) *offerCache {
	return boundedmap.NewSized[offerKey, offerEntry](entries, maxBytes, func(e offerEntry) int64 {
		return int64(cap(e.b)) + offerEntryOverhead
	})
}
