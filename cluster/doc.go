// Package cluster owns membership and replication between edge nodes over
// hashicorp/memberlist: encryption, broadcasting profile deltas, push/pull
// anti-entropy by digest, replicated config and counters, and edge cache
// purges (purge.go), kept in a bounded log that anti-entropy exchanges.
//
// It moves bytes between nodes; what a profile means, how two versions
// merge and what a digest covers belong to package sync.
//
// Paths a change takes, fastest first:
//
//   - fan-out (delegate.go): the writer packs fresh local changes for a few
//     milliseconds into UDP packets sent to every live member;
//   - gossip (delegate.go): the same change, named by profile id, waits in
//     a bounded TransmitLimitedQueue for memberlist's gossip rounds; a
//     receiver that finds it newer passes it on once;
//   - anti-entropy (antientropy.go): push/pull exchanges a digest of key
//     buckets, and the records of differing buckets are pulled over TCP in
//     pages.
//
// Messages are defined in wire.go. Nothing here runs on the request path:
// the store's change hook only encodes and queues.
package cluster
