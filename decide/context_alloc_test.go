//go:build !race

package decide

import (
	"testing"
	"time"
)

// TestDecideContextAllocs: a decision whose expressions read the device,
// the country, the visit and the hour allocates nothing per request once
// warm; request.query's value is the engine's one boxing per read.
func TestDecideContextAllocs(t *testing.T) {
	cfg := parse(t, `segments:
  phone: 'device.type == "mobile" and device.os == "ios"'
  fr: 'geo.country == "FR" and visit.count >= 1 and not visit.new and time.weekday != "xyz" and time.hour >= 0'
campaigns:
  - {id: a, slot: hero, when: phone and fr, template: a}
  - {id: b, slot: side, when: 'fr and device.browser == "safari"', template: b}
`)
	e, err := Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	p := benchProfile(DayIndex(testNow, time.UTC))
	p.Sessions, p.LastSeen = 2, testNow.Add(-time.Minute)
	src := benchContext()
	id := []byte("AVcCXIyPiPN6Pyb2tIp83w")
	run := func() {
		d := e.Acquire(p, id, testNow)
		d.SetContext(src)
		_, ok1 := d.Choose("hero")
		_, ok2 := d.Choose("side")
		if !ok1 || !ok2 || d.Errors != 0 {
			t.Fatalf("hero %v, side %v, errors %d; want both filled", ok1, ok2, d.Errors)
		}
		d.Release()
	}
	run()
	if n := testing.AllocsPerRun(200, run); n != 0 {
		t.Errorf("a contextual decision allocates %v times, want 0", n)
	}
}
