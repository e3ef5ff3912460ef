package decide

import (
	"errors"
	"io"
	"time"
)

// AppendOffer renders the offer of ch for this visitor onto dst; a holdout
// choice renders nothing. A rendering is remembered per profile snapshot,
// so a returning visitor whose profile has not changed costs a copy, not a
// template execution.
func (d *Decision) AppendOffer(dst []byte, ch Choice) ([]byte, error) {
	t := ch.Campaign.tmpl
	if ch.Variant != nil {
		if ch.Variant.Holdout {
			return dst, nil
		}
		t = ch.Variant.tmpl
	}
	if t < 0 {
		return dst, nil
	}
	k := offerKey{tmpl: t, p: d.p}
	if d.e.dated[t] {
		k.day = d.today // recommendations fade with the days
		if !d.e.recommendViewed {
			// and leave out the page's product.
			k.page = d.pageProduct()
		}
	}
	if o, ok := d.e.offers.Get(k); ok {
		if o.failed != nil {
			return dst, o.failed
		}
		return append(dst, o.b...), nil
	}
	start := len(dst)
	dst, err := d.execute(dst, t)
	if err != nil {
		if errors.Is(err, ErrOfferTooLarge) {
			// The same profile would fail the same way. (A timeout may
			// be a stall of the machine, and is not remembered.)
			d.e.offers.Put(k, offerEntry{failed: err})
		}
		return dst[:start], err
	}
	d.e.offers.Put(k, offerEntry{b: append([]byte(nil), dst[start:]...)})
	return dst, nil
}

// execute renders template t onto dst within the offer limits.
func (d *Decision) execute(dst []byte, t int) ([]byte, error) {
	d.w.b, d.w.limit = dst, len(dst)+MaxOfferSize
	d.w.deadline = time.Now().Add(d.e.renderTime)
	err := d.tmpls[t].Execute(&d.w, &d.data)
	dst, d.w.b = d.w.b, nil
	return dst, err
}

// Errors of AppendOffer past the offer limits; the slot keeps its fallback.
var (
	// ErrOfferTooLarge reports an offer over MaxOfferSize bytes.
	ErrOfferTooLarge = errors.New("decide: offer larger than the maximum offer size")
	// ErrRenderTimeout reports an offer whose rendering took over
	// MaxRenderTime.
	ErrRenderTimeout = errors.New("decide: offer rendering took too long")
)

// appendWriter is an io.Writer appending to a reusable slice, up to limit
// bytes in all and until deadline: past them Write fails, which stops the
// template's execution.
type appendWriter struct {
	b        []byte
	limit    int
	deadline time.Time
}

func (w *appendWriter) check(n int) error {
	if len(w.b)+n > w.limit {
		return ErrOfferTooLarge
	}
	if time.Now().After(w.deadline) {
		return ErrRenderTimeout
	}
	return nil
}

func (w *appendWriter) Write(p []byte) (int, error) {
	if err := w.check(len(p)); err != nil {
		return 0, err
	}
	w.b = append(w.b, p...)
	return len(p), nil
}

func (w *appendWriter) WriteString(s string) (int, error) {
	if err := w.check(len(s)); err != nil {
		return 0, err
	}
	w.b = append(w.b, s...)
	return len(s), nil
}

var _ io.StringWriter = (*appendWriter)(nil)
