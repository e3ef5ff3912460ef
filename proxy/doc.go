// Package proxy owns marquee's public HTTP path as a reverse proxy: the
// fasthttp server in front of the origin, the origin client, hop-by-hop and
// forwarding headers, limits, compression, streaming, fail-open handling,
// and the edge cache's place on the request path (package cache holds the
// store and its rules; this package decides when to look, what to store
// and how an entry is served).
//
// It knows nothing of visitors, rules or profiles. For every eligible page
// (GET or HEAD, status 200, HTML, within the rewrite limit, decoded) it calls
// a Rewriter with a RewriteContext, and serves the origin's bytes exactly
// whenever that stage fails or panics. A LocalHandler answers the requests
// that must not reach the origin. Package personalize implements both.
package proxy
