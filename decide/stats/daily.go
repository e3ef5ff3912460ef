package stats

import (
	"time"
)

// DailyDays is how many days of per-day counters a variant keeps: enough
// for a quarter-long experiment's chart, bounded so that a long-running
// campaign's state does not grow without end. Older days still count in
// the totals.
const DailyDays = 90

// dayLayout is how a day is written in JSON.
const dayLayout = time.DateOnly

// dayBucket is one day's Moments of one variant on one node.
type dayBucket struct {
	day int32 // days since the Unix epoch in the recorder's location
	m   Moments
}

// dayRing holds the last DailyDays days, indexed by day modulo DailyDays;
// a bucket holding an older day is reused.
type dayRing [DailyDays]dayBucket

// at returns the bucket of day, emptied first when it held an older day.
func (r *dayRing) at(day int32) *Moments {
	b := &r[int(uint32(day)%DailyDays)]
	if b.day != day {
		*b = dayBucket{day: day}
	}
	return &b.m
}

// list returns the days within DailyDays of today that hold counts, oldest
// first.
func (r *dayRing) list(today int32) []DayMoments {
	var out []DayMoments
	for d := today - DailyDays + 1; d <= today; d++ {
		b := &r[int(uint32(d)%DailyDays)]
		if b.day == d && b.m != (Moments{}) {
			out = append(out, DayMoments{Day: dayString(d), Moments: b.m})
		}
	}
	return out
}

// dayString writes a day index as YYYY-MM-DD.
func dayString(day int32) string {
	return time.Unix(int64(day)*86400, 0).UTC().Format(dayLayout)
}

// parseDay reads YYYY-MM-DD as a day index.
func parseDay(s string) (int32, error) {
	t, err := time.Parse(dayLayout, s)
	if err != nil {
		return 0, err
	}
	return int32(t.Unix() / 86400), nil
}

// DayMoments is one day's Moments of a variant.
type DayMoments struct {
	// Day is the date, YYYY-MM-DD, in the node's time_zone.
	Day string `json:"day"`
	Moments
}
