package decide

import (
	"time"

	"github.com/marquee-proxy/marquee/config"
)

// schedule is a campaign's compiled schedule.
type schedule struct {
	from, to time.Time // zero: open
	days     uint8     // bit per time.Weekday; 0: every day
	hours    [][2]int  // minutes since midnight, end exclusive; empty: all day
	loc      *time.Location
}

// compileSchedule turns a validated config schedule into its runtime form.
func compileSchedule(s *config.Schedule, loc *time.Location) *schedule {
	if s == nil {
		return nil
	}
	out := &schedule{loc: loc}
	if s.TimeZone != "" {
		if l, err := time.LoadLocation(s.TimeZone); err == nil {
			out.loc = l
		}
	}
	out.from, _ = time.Parse(time.RFC3339, s.From)
	out.to, _ = time.Parse(time.RFC3339, s.To)
	for _, d := range s.Days {
		if wd, ok := config.ParseWeekday(d); ok {
			out.days |= 1 << wd
		}
	}
	for _, h := range s.Hours {
		if a, b, ok := config.ParseHours(h); ok {
			out.hours = append(out.hours, [2]int{a, b})
		}
	}
	return out
}

// active reports whether the schedule allows now. Days and hours are read
// on the local clock of the schedule's zone, independently: a range that
// crosses midnight covers the early hours of every allowed day.
func (s *schedule) active(now time.Time) bool {
	if s == nil {
		return true
	}
	if !s.from.IsZero() && now.Before(s.from) {
		return false
	}
	if !s.to.IsZero() && !now.Before(s.to) {
		return false
	}
	if s.days == 0 && len(s.hours) == 0 {
		return true
	}
	local := now.In(s.loc)
	if s.days != 0 && s.days&(1<<local.Weekday()) == 0 {
		return false
	}
	if len(s.hours) == 0 {
		return true
	}
	m := local.Hour()*60 + local.Minute()
	for _, h := range s.hours {
		if h[0] < h[1] && m >= h[0] && m < h[1] {
			return true
		}
		if h[0] > h[1] && (m >= h[0] || m < h[1]) {
			return true
		}
	}
	return false
}
