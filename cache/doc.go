// Package cache owns marquee's edge cache: origin responses held at the
// node under shared-cache rules (RFC 9111, RFC 5861), bounded in bytes,
// and dropped by purges that every node of a fleet applies.
//
// It runs on the request path. A hit is a look-up in a lock-free map
// (maypok86/otter, W-TinyLFU eviction by weight) and a comparison of
// instants computed when the response was stored; the rules of RFC 9111
// (Cache-Control parsed by pquerna/cachecontrol, Expires, Date, Age, Vary,
// Authorization, Set-Cookie) run only on misses and revalidations. The
// package knows nothing of fasthttp or of what the rewrite stage keeps
// with an entry: the proxy hands it header fields and bodies, and the
// stage an opaque value.
package cache
