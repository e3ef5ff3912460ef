// Package cluster owns membership and replication between edge nodes over
// hashicorp/memberlist: encryption, broadcasting profile deltas, push/pull
// anti-entropy by digest, and replicated config and counters.
//
// It moves bytes between nodes; what a profile means belongs to package sync.
// Nothing here runs on the request path.
package cluster
