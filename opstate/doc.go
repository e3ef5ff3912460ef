// Package opstate owns marquee's durable operator state: what an operator
// decided, kept in data_dir so that it outlives a restart of one node or of
// the whole fleet.
//
// A History is the versioned record of the decisions documents (segments,
// campaigns, slots, experiments, catalog) a node has applied, each with its
// version (a reading of the store's hybrid logical clock, so versions order
// across nodes), when, and by whom: "api" for PUT /v1/campaigns, "file" for
// the config file at start, "sighup" for a reload, "cluster" for a document
// received from another node and "rollback" for an old version applied
// again. The newest entry is what the node serves. History keeps the last
// Limit versions, one file per version, each written atomically (WriteFile)
// with mode 0600; with no directory it lives in memory only.
//
// At start, Start decides between the stored newest version and the config
// file by content: the file wins exactly when its decisions differ from
// the ones the node last read from it (at its previous start or SIGHUP),
// that is, when an operator edited it since. File times are not trusted:
// deployment tools rewrite files and reset mtimes, and clocks differ
// between the machine that edited a file and the node reading it.
//
// An Audit is the node's audit log of admin API write calls: the last
// entries in memory and every entry appended, synced, to data_dir/audit.log
// (NDJSON, mode 0600), rotated to audit.log.1 past a size bound and loaded
// back at start. Each node records the calls it received; the log is not
// replicated.
//
// WriteFile is also how the experiment counters are saved.
package opstate
