package decide

import (
	"time"

	"github.com/marquee-proxy/marquee/config"
	"github.com/marquee-proxy/marquee/profile"
)

// views counts views of category within window (e.g. "7d") from the daily
// buckets, counting today as the first day.
func (d *Decision) views(category, window string) int {
	w, err := config.ParseDuration(window)
	if err != nil || w <= 0 {
		return 0
	}
	return d.viewsDays(category, int32((w.D()+24*time.Hour-1)/(24*time.Hour)))
}

// viewsDays counts views of category in the last days daily buckets.
func (d *Decision) viewsDays(category string, days int32) int {
	n := 0
	for _, b := range d.p.Views[category] {
		if b.Day > d.today-days && b.Day <= d.today {
			n += int(b.Count)
		}
	}
	return n
}

// recommend is the templates' recommend function. Past the rendering's
// deadline it fails, which stops the template.
func (d *Decision) recommend(n int) ([]Product, error) {
	if !d.w.deadline.IsZero() && time.Now().After(d.w.deadline) {
		return nil, ErrRenderTimeout
	}
	o := RecommendOptions{IncludeViewed: d.e.recommendViewed}
	if !o.IncludeViewed {
		o.Page = d.pageProduct()
	}
	return d.e.catalog.Recommend(d.p, n, d.today, o), nil
}

// pageProduct is the id of the catalog product whose url is the page being
// served, "" when there is none or no catalog.
func (d *Decision) pageProduct() string {
	if d.e.catalog == nil {
		return ""
	}
	d.fill(groupRequest)
	id, _ := d.e.catalog.PageProduct(d.ctx.strs[ctxRequestPath])
	return id
}

// DayIndex is the daily bucket a time falls in: days since the Unix epoch
// in loc.
func DayIndex(t time.Time, loc *time.Location) int32 { return profile.DayIndex(t, loc) }

// browsingCategory is the category the visitor viewed most in the last 7
// days, ties broken by name; "" without views.
func browsingCategory(p *profile.Profile, today int32) string {
	best, bestN := "", 0
	for cat, buckets := range p.Views {
		n := 0
		for _, b := range buckets {
			if b.Day > today-7 && b.Day <= today {
				n += int(b.Count)
			}
		}
		if n > bestN || (n == bestN && n > 0 && cat < best) {
			best, bestN = cat, n
		}
	}
	return best
}
