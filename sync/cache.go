package sync

import "github.com/marquee-proxy/marquee/internal/boundedmap"

// cache maps ids to decoded profile snapshots. A nil snapshot records that
// the id has no profile, so that new visitors do not reach the database on
// every request. It is bounded; a dropped entry costs one decode.
type cache struct {
	m *boundedmap.Map[string, *Profile]
}

func newCache(entries int) *cache { return &cache{boundedmap.NewString[*Profile](entries)} }

func (c *cache) get(id string) (*Profile, bool) { return c.m.Get(id) }

func (c *cache) getBytes(id []byte) (*Profile, bool) { return boundedmap.GetBytes(c.m, id) }

func (c *cache) put(id string, p *Profile) { c.m.Put(id, p) }

func (c *cache) remove(id string) { c.m.Delete(id) }
