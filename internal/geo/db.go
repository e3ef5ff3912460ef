package geo

import (
	"errors"
	"fmt"
	"hash/maphash"
	"io/fs"
	"net/netip"
	"sync/atomic"

	"github.com/oschwald/maxminddb-golang/v2"
)

// ErrNotDatabase reports a file that is not a MaxMind DB.
var ErrNotDatabase = errors.New("geo: not a MaxMind DB")

// Info is where an address is.
type Info struct {
	// Country is the ISO 3166-1 alpha-2 code, e.g. "FR".
	Country string
	// Region is the ISO 3166-2 code of the first subdivision, without the
	// country part, e.g. "IDF".
	Region string
	// City is the city's English name, e.g. "Paris".
	City string
}

// record is the part of a GeoIP2/GeoLite2 City or Country record marquee
// reads.
type record struct {
	Country struct {
		ISOCode string `maxminddb:"iso_code"`
	} `maxminddb:"country"`
	Subdivisions []struct {
		ISOCode string `maxminddb:"iso_code"`
	} `maxminddb:"subdivisions"`
	City struct {
		Names struct {
			EN string `maxminddb:"en"`
		} `maxminddb:"names"`
	} `maxminddb:"city"`
}

// DB answers where an address is from a MaxMind-format database. It is
// safe for concurrent use.
type DB struct {
	r     *maxminddb.Reader
	seed  maphash.Seed
	mask  uint64
	slots []atomic.Pointer[entry]
}

type entry struct {
	ip   netip.Addr
	info Info
}

// cacheEntries bounds the addresses a DB remembers.
const cacheEntries = 1 << 14

// Open opens the database at path. It fails, wrapping ErrNotDatabase, for
// a file that is not a MaxMind DB.
func Open(path string) (*DB, error) {
	r, err := maxminddb.Open(path)
	if err != nil {
		var perr *fs.PathError
		if errors.As(err, &perr) {
			return nil, fmt.Errorf("geo: %w", err)
		}
		return nil, fmt.Errorf("%w: %s: %v", ErrNotDatabase, path, err)
	}
	return &DB{r: r, seed: maphash.MakeSeed(), mask: cacheEntries - 1, slots: make([]atomic.Pointer[entry], cacheEntries)}, nil
}

// Type returns the database's type from its metadata, e.g.
// "GeoLite2-City".
func (db *DB) Type() string { return db.r.Metadata.DatabaseType }

// Lookup returns where ip is; the zero Info when the database does not
// know or ip is not valid. Answers are cached per address: a slot holds
// the last address hashed to it.
func (db *DB) Lookup(ip netip.Addr) Info {
	if !ip.IsValid() {
		return Info{}
	}
	ip = ip.Unmap()
	slot := &db.slots[maphash.Comparable(db.seed, ip)&db.mask]
	if e := slot.Load(); e != nil && e.ip == ip {
		return e.info
	}
	var rec record
	var info Info
	if err := db.r.Lookup(ip).Decode(&rec); err == nil {
		info.Country = Country([]byte(rec.Country.ISOCode))
		if len(rec.Subdivisions) > 0 {
			info.Region = rec.Subdivisions[0].ISOCode
		}
		info.City = rec.City.Names.EN
	}
	slot.Store(&entry{ip: ip, info: info})
	return info
}

// Close releases the database. Lookups after Close answer nothing.
func (db *DB) Close() error { return db.r.Close() }
