// Package cache owns marquee's edge cache: origin responses held at the
// node under shared-cache rules (RFC 9111, RFC 5861), bounded in bytes,
// and dropped by purges that every node of a fleet applies.
package cache
