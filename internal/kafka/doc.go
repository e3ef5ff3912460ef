// Package kafka consumes an events topic into the profile store: records
// hold events in the events API's JSON schema, one per record. Offsets are
// committed only after the events of a poll are stored, so a crash replays
// rather than loses them, and deduplication by event id makes the replay
// harmless. It runs beside the proxy, never on the request path.
package kafka
