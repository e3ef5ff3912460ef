// Package inject owns the HTML side of personalisation: compiling a page once
// into a plan of byte ranges (its slots), caching plans, and splicing offers
// into a page per request.
//
// Compilation runs once per distinct page; splicing runs on the request path
// and allocates nothing. inject never learns who the visitor is.
package inject
