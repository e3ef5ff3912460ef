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

// active reports whether the schedule allows now, on the local clock of
// the schedule's zone. An hours range that crosses midnight belongs to the
// day it starts on. Around a DST change the local clock decides: a skipped
// hour never runs, a repeated one runs twice.
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
	today := local.Weekday()
	yesterday := (today + 6) % 7
	if len(s.hours) == 0 {
		return s.onDay(today)
	}
	m := local.Hour()*60 + local.Minute()
	for _, h := range s.hours {
		switch {
		case h[0] < h[1]:
			if m >= h[0] && m < h[1] && s.onDay(today) {
				return true
			}
		case m >= h[0]:
			if s.onDay(today) {
				return true
			}
		case m < h[1]:
			// The early hours of a range that crosses midnight belong to
			// the night it started: Friday 22:00-02:00 runs into Saturday.
			if s.onDay(yesterday) {
				return true
			}
		}
	}
	return false
}

// onDay reports whether the schedule runs on weekday d.
func (s *schedule) onDay(d time.Weekday) bool { return s.days == 0 || s.days&(1<<d) != 0 }
