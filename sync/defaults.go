package sync

import "time"

// Defaults applied to zero fields of Options, EventRules and ShrinkOptions.
// They are the values the marquee command's config documents, which builds
// its own defaults from DefaultOptions, so a library user and a command
// user open the same store.
const (
	// DefaultNode names a node that was given no name.
	DefaultNode = "local"
	// DefaultCacheEntries bounds the decoded-profile cache; see
	// Options.CacheEntries for why not more.
	DefaultCacheEntries = 1 << 18
	// DefaultDedupWindow is how long an event id is remembered.
	DefaultDedupWindow = 24 * time.Hour
	// DefaultMaxPast is how old an event may be.
	DefaultMaxPast = 30 * 24 * time.Hour
	// DefaultMaxFuture is how far ahead an event may be dated, for clock
	// skew.
	DefaultMaxFuture = 5 * time.Minute
	// DefaultShrinkRatio compacts the file at twice its compacted size.
	DefaultShrinkRatio = 2
	// DefaultShrinkMinSize is the file size below which compaction is not
	// worth its pause.
	DefaultShrinkMinSize = 32 << 20
	// DefaultShrinkInterval is how often the file size is checked.
	DefaultShrinkInterval = time.Minute
)

// DefaultOptions returns Options with every default filled in: an
// in-memory store, Now and OnChange nil. Callers that show or adjust the
// defaults start from it.
func DefaultOptions() Options {
	return Options{
		Node:          DefaultNode,
		CacheEntries:  DefaultCacheEntries,
		Events:        DefaultEventRules(),
		Sync:          SyncEverySecond,
		Shrink:        DefaultShrinkOptions(),
		DigestBuckets: DefaultDigestBuckets,
	}
}

// DefaultEventRules returns EventRules with every default filled in, so
// that callers mapping their own settings onto the rules start from the
// values the store would apply.
func DefaultEventRules() EventRules {
	return EventRules{
		DedupWindow: DefaultDedupWindow,
		MaxPast:     DefaultMaxPast,
		MaxFuture:   DefaultMaxFuture,
		Location:    time.UTC,
	}
}

// DefaultShrinkOptions returns ShrinkOptions with every default filled in,
// for the same reason as DefaultEventRules.
func DefaultShrinkOptions() ShrinkOptions {
	return ShrinkOptions{
		Ratio:    DefaultShrinkRatio,
		MinSize:  DefaultShrinkMinSize,
		Interval: DefaultShrinkInterval,
	}
}
