package decide

import "time"

// Env is the view of one visitor that segment and campaign expressions are
// evaluated against. Expressions see the names in the expr tags; the
// function fields are bound once per pooled Env, not per request.
type Env struct {
	// Attrs are demographic attributes, e.g. attrs.tier: strings, numbers or
	// booleans.
	Attrs map[string]any `expr:"attrs"`
	// Scores are imported model scores, e.g. scores.propensity.
	Scores map[string]float64 `expr:"scores"`
	// Purchases summarises the visitor's orders.
	Purchases Purchases `expr:"purchases"`
	// Cart is the visitor's current cart.
	Cart Cart `expr:"cart"`
	// BrowsingCategory is the category viewed most in the last 7 days.
	BrowsingCategory string `expr:"browsing_category"`

	// Views counts views of a category within a window such as "7d".
	Views func(category, window string) int `expr:"views"`
	// Viewed reports whether the visitor has viewed a product.
	Viewed func(product string) bool `expr:"viewed"`
	// Score returns a model score, 0 when absent.
	Score func(name string) float64 `expr:"score"`
	// Since returns how long ago t was.
	Since func(t time.Time) time.Duration `expr:"since"`
	// InSegment reports whether the visitor is in the named segment.
	InSegment func(name string) bool `expr:"in_segment"`

	// Seg evaluates segment number i; compiled expressions call it wherever a
	// segment name is used as a boolean.
	Seg func(i int) bool `expr:"__seg"`
	// ViewsK is views for the engine's constant (category, window) pair k.
	ViewsK func(k int) int `expr:"__views"`

	// Request context names (request.path, device.type, …) are compiled
	// into calls of these with the field's number (context.go), so that a
	// Decision reads its Context only when an expression asks.
	Ctx   func(field any) any  `expr:"__ctx"`
	CtxB  func(field int) bool `expr:"__ctxb"`
	CtxI  func(field int) int  `expr:"__ctxi"`
	Query func(name any) any   `expr:"__query"`

	// The budgeted replacements of expr builtins and operators (budget.go).
	Repeat     func(args ...any) (any, error) `expr:"__repeat"`
	Replace    func(args ...any) (any, error) `expr:"__replace"`
	Join       func(args ...any) (any, error) `expr:"__join"`
	Split      func(args ...any) (any, error) `expr:"__split"`
	SplitAfter func(args ...any) (any, error) `expr:"__splitAfter"`
	String     func(args ...any) (any, error) `expr:"__string"`
	Add        func(x, y any) (any, error)    `expr:"__add"`
	Step       func() (bool, error)           `expr:"__step"`
}

// Purchases summarises a visitor's orders.
type Purchases struct {
	// Total30d is the value of purchases in the last 30 days.
	Total30d float64 `expr:"total_30d"`
	// Count is the number of purchases on record.
	Count int `expr:"count"`
	// Last is when the visitor last purchased; zero when never.
	Last time.Time `expr:"last"`
}

// Cart is a visitor's current cart.
type Cart struct {
	// Items is the number of items in the cart.
	Items int `expr:"items"`
	// Value is the cart's total value.
	Value float64 `expr:"value"`
	// UpdatedAt is when the cart last changed; zero when never.
	UpdatedAt time.Time `expr:"updated_at"`
}

// envNames are the identifiers an expression may use besides segment names
// and expr's builtins.
var envNames = map[string]bool{
	"attrs": true, "scores": true, "purchases": true, "cart": true,
	"views": true, "viewed": true, "score": true, "since": true, "in_segment": true,
	"browsing_category": true,
	"request":           true, "device": true, "geo": true, "visit": true, "time": true,
}
