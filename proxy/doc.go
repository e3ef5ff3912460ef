// Package proxy owns marquee's public HTTP path: the fasthttp server in front
// of the origin, the origin client, hop-by-hop and forwarding headers,
// compression, identity cookies, fail-open handling and the admin HTTP API.
//
// It runs on the request path. It knows nothing about HTML or rules: it hands
// eligible bodies to a rewrite stage and serves the origin's bytes whenever
// that stage fails.
package proxy
