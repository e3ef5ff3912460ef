package decide

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/marquee-proxy/marquee/config"
	"github.com/marquee-proxy/marquee/profile"
)

// trialTimeLimit bounds one expression's evaluation on a sample profile;
// a condition is evaluated on every page view. The step and memory budgets
// bound the work; this catches what they allow but is still slow, with a
// margin for a loaded machine.
const trialTimeLimit = 250 * time.Millisecond

// sampleProfiles are the profiles Compile tries a new document on: an
// empty one (a first visit) and a rich synthetic one.
func sampleProfiles(now time.Time, loc *time.Location) []*profile.Profile {
	rich := &profile.Profile{
		ID:     "sample",
		Attrs:  map[string]any{},
		Scores: map[string]float64{},
		Views:  map[string][]profile.DayCount{},
	}
	today := DayIndex(now, loc)
	long := strings.Repeat("x", 256)
	for i := range 32 {
		k := strconv.Itoa(i)
		rich.Attrs["attr"+k] = long
		rich.Attrs["n"+k] = float64(i * 1000)
		rich.Scores["score"+k] = float64(i) / 32
		rich.Views["category"+k] = []profile.DayCount{{Day: today, Count: int32(i + 1)}, {Day: today - 3, Count: 2}}
		rich.Recent = append(rich.Recent, "product"+k)
		rich.Purchases = append(rich.Purchases, profile.Purchase{ID: "o" + k, Product: "product" + k, Value: 99.5, At: now.Add(-time.Duration(i) * 24 * time.Hour)})
		rich.Cart.Items = append(rich.Cart.Items, profile.CartItem{Product: "product" + k, Qty: i%3 + 1, Price: 19.99})
	}
	for _, k := range []string{"name", "tier", "city", "email", "country", "lang"} {
		rich.Attrs[k] = long
	}
	rich.Attrs["age"] = 42.0
	rich.Cart.UpdatedAt = now.Add(-time.Hour)
	rich.Sessions = 40
	return []*profile.Profile{{}, rich}
}

// trial evaluates every segment and campaign condition, and renders every
// offer template, on the sample profiles, and reports those that exceed an
// evaluation budget, the time limit or the offer limits there, located in
// cfg. Other run-time errors (a type mismatch
// with a missing value) are normal and left to the request path's count.
func (e *Engine) trial(cfg *config.Config, errs *config.Errors) {
	now := time.Now()
	for _, p := range sampleProfiles(now, e.loc) {
		// Not released: the samples must not enter the segment cache.
		d := e.Acquire(p, []byte("sample"), now)
		if len(p.Attrs) > 0 {
			d.SetContext(sampleContext{})
		}
		check := func(path string, run func() error) {
			start := time.Now()
			err := run()
			took := time.Since(start)
			if err != nil && isBudgetError(err) {
				*errs = append(*errs, cfg.Errorf(path, "%s on a sample profile", firstLine(err)))
				return
			}
			if took > trialTimeLimit {
				// Once more, so that a stall of the machine (a collection,
				// a busy neighbour) does not refuse a document.
				start = time.Now()
				_ = run()
				if took = time.Since(start); took > trialTimeLimit {
					*errs = append(*errs, cfg.Errorf(path, "takes %v to evaluate on a sample profile; at most %v", took.Round(time.Millisecond), trialTimeLimit))
				}
			}
		}
		for _, s := range e.segments {
			clear(d.seg)
			check("segments."+s.name, func() error { _, err := d.runErr(s.prog); return err })
		}
		for i, c := range e.campaigns {
			if c.when == nil {
				continue
			}
			clear(d.seg)
			check(fmt.Sprintf("campaigns[%d].when", i), func() error { _, err := d.runErr(c.when); return err })
		}
		var buf []byte
		for t, path := range e.templatePaths {
			var err error
			if buf, err = d.execute(buf[:0], t); errors.Is(err, ErrRenderTimeout) {
				buf, err = d.execute(buf[:0], t) // once more, as above
			}
			if errors.Is(err, ErrOfferTooLarge) || errors.Is(err, ErrRenderTimeout) {
				*errs = append(*errs, cfg.Errorf(path, "%v on a sample profile (at most %d bytes in %v)", err, MaxOfferSize, e.renderTime))
			}
		}
		if len(*errs) > 0 {
			return
		}
	}
}

func isBudgetError(err error) bool {
	return errors.Is(err, errExprBudget) || strings.Contains(err.Error(), "memory budget exceeded")
}

func firstLine(err error) string {
	msg := err.Error()
	if i := strings.IndexByte(msg, '\n'); i >= 0 {
		msg = msg[:i]
	}
	return msg
}

// sampleContext is the request the rich sample profile is tried on: long
// values, as a hostile request may send, so that an expression that
// multiplies them past a budget is refused at compile time.
type sampleContext struct{}

// sampleValue is as long as a request line's parts usually may be.
var sampleValue = "/" + strings.Repeat("x", 2047)

func (sampleContext) Request() RequestInfo {
	return RequestInfo{Path: sampleValue, Host: sampleValue[1:256], Referrer: sampleValue}
}
func (sampleContext) Query(string) string { return sampleValue }
func (sampleContext) Device() DeviceInfo {
	return DeviceInfo{Type: "mobile", OS: "android", Browser: "chrome"}
}
func (sampleContext) Geo() GeoInfo { return GeoInfo{Country: "FR", Region: "IDF", City: "Paris"} }
