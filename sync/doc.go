// Package sync owns visitor profiles: the record, its version, merge rules,
// tombstones, the buntdb-backed store and the digests used for anti-entropy.
//
// Lookups run on the request path and decode nothing; writes happen off it.
// The package shares its name with the standard library's: inside it the
// standard one is imported as stdsync, elsewhere this one as msync.
package sync
