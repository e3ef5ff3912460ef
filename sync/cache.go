package sync

import (
	"github.com/marquee-proxy/marquee/internal/boundedmap"
	"github.com/marquee-proxy/marquee/profile"
)

// cache maps ids to decoded profile snapshots. A nil snapshot records that
// the id has no profile, so that new visitors do not reach the database on
// every request. It is bounded; a dropped entry costs one decode.
type cache struct {
	m *boundedmap.Map[string, *profile.Profile]
}

func newCache(entries int) *cache { return &cache{boundedmap.NewString[*profile.Profile](entries)} }

func (c *cache) get(id string) (*profile.Profile, bool) { return c.m.Get(id) }

func (c *cache) getBytes(id []byte) (*profile.Profile, bool) { return boundedmap.GetBytes(c.m, id) }

func (c *cache) put(id string, p *profile.Profile) { c.m.Put(id, p) }

func (c *cache) remove(id string) { c.m.Delete(id) }
