// Package decide owns decisions: segments compiled from expressions,
// campaigns and their offer templates, and choosing one offer per slot for a
// visitor's profile.
//
// Compilation happens once per configuration; deciding runs on the request
// path. decide knows nothing about HTTP.
package decide
