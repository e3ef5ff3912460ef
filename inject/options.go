package inject

import "time"

// Options tunes a Compiler. The zero value is usable: every zero field takes
// the default documented on it.
type Options struct {
	// CompileBudget bounds the wall time of compiling one page. A page that
	// takes longer passes through unchanged (ErrBudget) and is not retried
	// from the cache. HTML has pathological inputs; this keeps one of them
	// from stalling a request. The failure is cached for a minute, so a
	// pathological page costs one budget per minute, not one per request.
	// The tree parse of the selector path cannot be interrupted: the budget
	// is checked around it, and pages with hundreds of unclosed formatting
	// elements (which make tree building superlinear) are refused before it.
	// Zero means 20ms.
	CompileBudget time.Duration

	// MaxEntries bounds the number of cached plans (LRU). Zero means 1024.
	MaxEntries int

	// MaxBytes bounds the memory held by the cache, counting each cached
	// body (kept to verify hits byte for byte) and its plan. Zero means 64 MiB.
	MaxBytes int64

	// MaxBodySize is the largest body Plan considers; larger ones return
	// ErrTooLarge. Zero means 4 MiB.
	MaxBodySize int

	// FamilySize is how many recent bodies are kept per page family for the
	// changed-page path (pages that differ per request by a nonce or token).
	// Zero means 4, the most is 8; a negative value disables that path.
	FamilySize int
}

// Defaults applied to zero Options fields.
const (
	DefaultCompileBudget = 20 * time.Millisecond
	DefaultMaxEntries    = 1024
	DefaultMaxBytes      = 64 << 20
	DefaultMaxBodySize   = 4 << 20
	DefaultFamilySize    = 4
)

// DefaultOptions returns Options with every default filled in, for
// callers that show or adjust the defaults before calling NewCompiler.
func DefaultOptions() Options {
	return Options{
		CompileBudget: DefaultCompileBudget,
		MaxEntries:    DefaultMaxEntries,
		MaxBytes:      DefaultMaxBytes,
		MaxBodySize:   DefaultMaxBodySize,
		FamilySize:    DefaultFamilySize,
	}
}

// withDefaults returns o with zero fields replaced by those of
// DefaultOptions.
func (o Options) withDefaults() Options {
	d := DefaultOptions()
	if o.CompileBudget <= 0 {
		o.CompileBudget = d.CompileBudget
	}
	if o.MaxEntries <= 0 {
		o.MaxEntries = d.MaxEntries
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = d.MaxBytes
	}
	if o.MaxBodySize <= 0 {
		o.MaxBodySize = d.MaxBodySize
	}
	if o.FamilySize == 0 {
		o.FamilySize = d.FamilySize
	}
	return o
}
