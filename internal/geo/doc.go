// Package geo tells where a request comes from, for expressions' geo.country,
// geo.region and geo.city: from a country header set by a CDN in front of
// marquee (believed only from a trusted proxy; the caller decides), and
// from a MaxMind-format database looked up by the client's address. It runs
// on the request path: database answers are remembered per address in a
// bounded cache.
package geo
