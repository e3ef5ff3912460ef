// Package personalize owns what marquee does to a page for one visitor: it
// implements the proxy's rewrite stage as a pipeline of named stages,
//
//	plan → identify → load profile → decide → render → splice → record
//
// (rewrite.go; the plan comes first because only a page with slots mints
// a cookie, and record, in record.go, queues what the page taught),
// with the identity cookie and the site's customer cookie, consent, crawler
// detection, signed preview links, the behaviour observed from page views
// and origin annotations, and the /_marquee/decide endpoint for apps.
//
// Everything a request learns is written to the profile store by one
// background queue per node, after the response: a visitor's observations
// in order, and each profile's own writes in order. A visitor's next
// request waits for its pending writes, so it always reads them. A full queue drops a write rather than slow a request; a
// write that panics is dropped and counted, and the queue goes on. Any
// failure leaves the origin's page as it came.
package personalize
