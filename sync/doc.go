// Package sync owns where visitor profiles live and how copies agree: the
// buntdb-backed store, its encoding, the hybrid logical clock, merge rules,
// tombstones and the digests used for anti-entropy. The record itself is
// package profile's, so that readers of profiles need not import the store.
//
// Profiles change through the Store: events (ApplyEvents, deduplicated by
// id, each landing in the daily bucket of its own time), the proxy's own
// page views (ApplyObserved), links between a visitor and a customer
// (Link, which merges the anonymous profile in), erasure (Erase, which
// leaves a tombstone that older writes cannot get past), bulk loads
// (Import, many records per transaction) and copies from other nodes
// (MergeRemote).
//
// Lookups run on the request path and decode nothing on a cache hit;
// writes happen off it. The package shares its name with the standard
// library's: inside it the standard one is imported as stdsync, elsewhere
// this one as msync.
package sync
