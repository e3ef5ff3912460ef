package sync

import (
	"fmt"
	"math"
	"strings"
	"time"
	"unicode"

	"github.com/marquee-proxy/marquee/profile"
)

// EventType is the kind of an Event.
type EventType uint8

// Event types.
const (
	EventInvalid EventType = iota
	EventView
	EventAddToCart
	EventRemoveFromCart
	EventPurchase
	EventCustom
)

var eventTypeNames = [...]string{"invalid", "view", "add_to_cart", "remove_from_cart", "purchase", "custom"}

// String returns the type's name in the events schema.
func (t EventType) String() string {
	if int(t) < len(eventTypeNames) {
		return eventTypeNames[t]
	}
	return "invalid"
}

// ParseEventType returns the type named s, or EventInvalid.
func ParseEventType(s string) EventType {
	for i, n := range eventTypeNames[1:] {
		if n == s {
			return EventType(i + 1)
		}
	}
	return EventInvalid
}

// MarshalText encodes the type as its schema name.
func (t EventType) MarshalText() ([]byte, error) { return []byte(t.String()), nil }

// Event is one thing a visitor did, from the events API, a Kafka topic, an
// import file or the proxy's own page views.
type Event struct {
	// ID identifies the event for deduplication; required.
	ID string `json:"id"`
	// Type is what happened.
	Type EventType `json:"type"`
	// Visitor is the visitor id (the visitor cookie's id part).
	Visitor string `json:"visitor,omitempty"`
	// Customer is the shop's customer id. With Visitor, the two are linked.
	Customer string `json:"customer,omitempty"`
	// TS is when it happened; it decides the daily bucket.
	TS time.Time `json:"ts"`
	// Category is a product category, e.g. "electronics".
	Category string `json:"category,omitempty"`
	// Product is a product id.
	Product string `json:"product,omitempty"`
	// Value is a price (cart events) or an order total (purchase).
	Value float64 `json:"value,omitempty"`
	// Currency is an ISO 4217 code.
	Currency string `json:"currency,omitempty"`
	// Props are free-form properties; custom events name themselves with
	// props.name.
	Props map[string]any `json:"props,omitempty"`
	// Path is the page's URL path, for a view: the view that starts a
	// session records it as the profile's Landing (visit.landing).
	Path string `json:"path,omitempty"`
}

// Target is the profile id the event lands on: the customer when known,
// else the visitor.
func (e *Event) Target() string {
	if e.Customer != "" {
		return e.Customer
	}
	return e.Visitor
}

// FieldError says which field of an event or record is wrong and why.
type FieldError struct {
	// Field is the JSON field, e.g. "ts" or "props.name".
	Field string
	// Code is a stable reason, e.g. "invalid_field".
	Code string
	// Reason is for people.
	Reason string
}

// Error codes of FieldError beyond the admin API's invalid_field.
const (
	// CodeInvalidField marks a missing or malformed field.
	CodeInvalidField = "invalid_field"
	// CodeUnknownField marks a field the schema does not have.
	CodeUnknownField = "unknown_field"
	// CodeInvalidJSON marks a line or item that is not JSON.
	CodeInvalidJSON = "invalid_json"
	// CodeStale marks an event older than its profile's erasure.
	CodeStale = "stale"
)

// Error returns the field and the reason.
func (e *FieldError) Error() string {
	if e.Field == "" {
		return "sync: " + e.Reason
	}
	return "sync: " + e.Field + ": " + e.Reason
}

func fieldErr(field, format string, args ...any) *FieldError {
	return &FieldError{Field: field, Code: CodeInvalidField, Reason: fmt.Sprintf(format, args...)}
}

// EventRules are the bounds and normalisation applied to every event. The
// zero value applies the defaults named per field.
type EventRules struct {
	// DedupWindow is how long an event id is remembered. Zero means
	// DefaultDedupWindow (24h).
	DedupWindow time.Duration
	// MaxPast rejects events older than this. Zero means DefaultMaxPast
	// (30 days).
	MaxPast time.Duration
	// MaxFuture rejects events further ahead than this, for clock skew.
	// Zero means DefaultMaxFuture (5 minutes).
	MaxFuture time.Duration
	// KeepCase keeps category and product case; by default both are
	// case-folded, so "Electronics " and "electronics" count as one.
	KeepCase bool
	// FoldCustomer case-folds customer ids.
	FoldCustomer bool
	// Location is the zone of daily buckets. Nil means UTC.
	Location *time.Location
}

// withDefaults returns r with zero fields set from DefaultEventRules.
func (r EventRules) withDefaults() EventRules {
	d := DefaultEventRules()
	if r.DedupWindow <= 0 {
		r.DedupWindow = d.DedupWindow
	}
	if r.MaxPast <= 0 {
		r.MaxPast = d.MaxPast
	}
	if r.MaxFuture <= 0 {
		r.MaxFuture = d.MaxFuture
	}
	if r.Location == nil {
		r.Location = d.Location
	}
	return r
}

// Bounds of one event.
const (
	maxEventIDLen = 128
	maxNameLen    = 128
	maxProps      = 32
	maxPropString = 1024
)

// minEventTime is the earliest time an event may carry, whatever
// MaxPast says: anything before is a default or a bug, not an event.
var minEventTime = time.Unix(0, 0)

// MaxPathLen bounds an event's path, and so a profile's Landing: longer
// paths are refused, not cut, so that a landing is always a real path.
const MaxPathLen = 256

// Normalize trims and case-folds e's names as r says, and checks every
// field against the schema and the time bounds relative to now. A zero TS
// becomes now; a TS before 1970 is refused.
func (r EventRules) Normalize(e *Event, now time.Time) *FieldError {
	r = r.withDefaults()
	if e.ID == "" || len(e.ID) > maxEventIDLen || !printable(e.ID) {
		return fieldErr("id", "required: 1 to %d printable characters", maxEventIDLen)
	}
	if e.Type == EventInvalid {
		return fieldErr("type", "want one of view, add_to_cart, remove_from_cart, purchase, custom")
	}
	e.Visitor = strings.TrimSpace(e.Visitor)
	e.Customer = NormalizeCustomer(e.Customer, r.FoldCustomer)
	if e.Visitor == "" && e.Customer == "" {
		return fieldErr("visitor", "an event needs a visitor or a customer id")
	}
	if e.Visitor != "" && !ValidID(e.Visitor) {
		return fieldErr("visitor", "want 1 to %d characters of letters, digits and -_.:@", MaxIDLen)
	}
	if e.Customer != "" && !ValidID(e.Customer) {
		return fieldErr("customer", "want 1 to %d characters of letters, digits and -_.:@", MaxIDLen)
	}
	if e.TS.IsZero() {
		e.TS = now
	}
	switch {
	case e.TS.Before(minEventTime):
		return fieldErr("ts", "%s is before 1970: not a plausible event time", e.TS.Format(time.RFC3339))
	case e.TS.Before(now.Add(-r.MaxPast)):
		return fieldErr("ts", "%s is more than %s in the past", e.TS.Format(time.RFC3339), r.MaxPast)
	case e.TS.After(now.Add(r.MaxFuture)):
		return fieldErr("ts", "%s is more than %s in the future", e.TS.Format(time.RFC3339), r.MaxFuture)
	}
	e.Category = NormalizeName(e.Category, !r.KeepCase)
	e.Product = NormalizeName(e.Product, !r.KeepCase)
	if len(e.Category) > maxNameLen || !printable(e.Category) {
		return fieldErr("category", "want at most %d printable characters", maxNameLen)
	}
	if len(e.Product) > maxNameLen || !printable(e.Product) {
		return fieldErr("product", "want at most %d printable characters", maxNameLen)
	}
	if e.Path != "" && !ValidPath(e.Path) {
		return fieldErr("path", "want a URL path starting with / of at most %d printable characters", MaxPathLen)
	}
	if math.IsNaN(e.Value) || math.IsInf(e.Value, 0) || e.Value < 0 || e.Value > 1e12 {
		return fieldErr("value", "want a number from 0 to 1e12")
	}
	if e.Currency != "" && !isCurrency(e.Currency) {
		return fieldErr("currency", "want a three-letter ISO 4217 code such as EUR")
	}
	if len(e.Props) > maxProps {
		return fieldErr("props", "more than %d properties", maxProps)
	}
	for k, v := range e.Props {
		if k == "" || len(k) > maxNameLen {
			return fieldErr("props", "property names are 1 to %d bytes", maxNameLen)
		}
		switch v := v.(type) {
		case string:
			if len(v) > maxPropString {
				return fieldErr("props."+k, "string longer than %d bytes", maxPropString)
			}
		case float64, bool, nil:
		default:
			return fieldErr("props."+k, "want a string, number, boolean or null")
		}
	}
	switch e.Type {
	case EventView:
		// A view of a page that is neither a product nor a category still
		// counts: it starts or continues a session.
		if e.Category == "" && e.Product == "" && e.Path == "" {
			return fieldErr("category", "a view needs a category, a product or a path")
		}
	case EventAddToCart, EventRemoveFromCart:
		if e.Product == "" {
			return fieldErr("product", "required for %s", e.Type)
		}
	case EventCustom:
		name, _ := e.Props["name"].(string)
		if NormalizeName(name, true) == "" {
			return fieldErr("props.name", "required for custom events: a name to count them under")
		}
	}
	return nil
}

// NormalizeName trims a category or product name and, when fold is set,
// lower-cases it.
func NormalizeName(s string, fold bool) string {
	s = strings.TrimSpace(s)
	if fold {
		for i := 0; i < len(s); i++ {
			if c := s[i]; c >= 'A' && c <= 'Z' || c >= 0x80 {
				return strings.ToLower(s)
			}
		}
	}
	return s
}

// NormalizeCustomer trims a customer id and, when fold is set, lower-cases
// it.
func NormalizeCustomer(s string, fold bool) string { return NormalizeName(s, fold) }

// ValidID reports whether id may name a profile: 1 to MaxIDLen characters
// of letters, digits and -_.:@.
func ValidID(id string) bool {
	if id == "" || len(id) > MaxIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-_.:@", c) >= 0) {
			return false
		}
	}
	return true
}

// ValidPath reports whether s is a path an event may carry: starting with
// /, at most MaxPathLen bytes, printable.
func ValidPath(s string) bool {
	return len(s) > 0 && s[0] == '/' && len(s) <= MaxPathLen && printable(s)
}

func printable(s string) bool {
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

func isCurrency(s string) bool {
	if len(s) != 3 {
		return false
	}
	for i := 0; i < 3; i++ {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return true
}

// DayIndex is the daily bucket a time falls in: days since the Unix epoch
// in loc, as profile.DayIndex counts them.
func DayIndex(t time.Time, loc *time.Location) int32 { return profile.DayIndex(t, loc) }
