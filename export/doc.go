// Package export streams exposure and conversion records out of marquee,
// to a warehouse: daily NDJSON files, a Kafka topic, an HTTP webhook, any
// combination. Each record is one JSON object (see [Exporter] for the
// schema) with an event_id that stays the same when the record is sent
// again, so that the reader can deduplicate: a queued record is retried
// until acknowledged, but the queues are in memory, so a crash loses what
// they hold and a full queue drops (counted).
//
// Recording ([Exporter.Exposure], [Exporter.Conversion]) runs on the
// request path: it encodes the record once into a pooled buffer and
// appends it to one bounded in-memory queue per sink, without blocking
// and, once the queues have grown, without allocating. A full queue drops
// the record and counts it. Everything else runs on one goroutine per
// sink, beside the request path: it takes what is queued, delivers it,
// retries with backoff what the sink did not acknowledge, and counts a
// record delivered only once the sink has acknowledged it.
package export
