// Package profile owns the Profile type, what marquee knows about one
// visitor or customer, with its pure helpers and the hybrid-logical-clock
// Version that orders writes across nodes. It is a leaf: the decision
// engine reads profiles through it without pulling in the store.
package profile
