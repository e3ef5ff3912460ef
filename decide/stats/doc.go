// Package stats counts experiment exposures and conversions and computes the
// statistics an operator reads: unique visitors, conversion rate, lift over
// the control with a 95% confidence interval, a two-proportion p-value and a
// sample-ratio-mismatch check.
//
// A [Recorder] runs on the request path: [Recorder.Expose] and
// [Recorder.Convert] are lock-light and do not allocate for a
// (campaign, variant) pair that was registered. Everything else — snapshots
// with [Recorder.State], merging nodes with [Merge], the [Report] — runs off
// the request path, on an admin request or a gossip round.
//
// Cluster model: each node counts only its own traffic. Its [NodeState] is a
// G-counter entry keyed by (node, start time) plus HyperLogLog sketches of the
// visitors it saw. [Merge] takes the per-key maximum of the counters, so
// merging a state twice changes nothing, and unions the sketches, so a
// visitor seen by two nodes is counted once. Counts are never summed across
// duplicate keys and sketches are never summed at all.
//
// Experiment metrics: [Recorder.Enroll] (a person's first exposure to a
// variant, with what they did in the 30 days before) and
// [Recorder.Outcome] (a credited conversion with its value) keep per
// variant the [Moments] — per-person sums, sums of squares and
// cross-products — from which the report computes each metric's value,
// Welch's interval and the delta method (aov), CUPED, and the mSPRT
// always-valid p-value and confidence sequence, in total and per day for
// [DailyDays] days. They run on the write queue, not the request path, and
// do not allocate once a pair has its daily ring. Moments only grow, so
// Merge takes each node key's newest and sums the keys.
package stats
