// Package decide owns decisions: segments compiled from expressions,
// campaigns and their offer templates, and choosing one offer per slot for a
// visitor's profile and the request being served (a Context the caller
// provides, read only when an expression asks).
//
// Compilation happens once per configuration; deciding runs on the request
// path. decide knows nothing about HTTP.
package decide
