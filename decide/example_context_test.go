package decide_test

import (
	"fmt"
	"time"

	"github.com/marquee-proxy/marquee/config"
	"github.com/marquee-proxy/marquee/decide"
	"github.com/marquee-proxy/marquee/profile"
)

// phoneOrNot is a decide.Context that knows only the device type.
type phoneOrNot string

func (d phoneOrNot) Request() decide.RequestInfo { return decide.RequestInfo{} }
func (d phoneOrNot) Query(string) string         { return "" }
func (d phoneOrNot) Device() decide.DeviceInfo   { return decide.DeviceInfo{Type: string(d)} }
func (d phoneOrNot) Geo() decide.GeoInfo         { return decide.GeoInfo{} }

// The same visitor gets a phone-only campaign on a phone and not on a
// desktop: a condition that reads the request is decided per request.
func ExampleDecision_SetContext() {
	cfg, err := config.Parse("example.yaml", []byte(`origin: http://shop:8080
campaigns:
  - {id: phone-only, slot: hero, when: 'device.type == "mobile"', template: '<b>Phone offer</b>'}
`))
	if err != nil {
		panic(err)
	}
	e, err := decide.Compile(cfg)
	if err != nil {
		panic(err)
	}
	visitor := &profile.Profile{ID: "v1"}
	for _, device := range []string{"mobile", "desktop"} {
		d := e.Acquire(visitor, []byte(visitor.ID), time.Now())
		d.SetContext(phoneOrNot(device))
		ch, ok := d.Choose("hero")
		if ok {
			fmt.Println(device, "→", ch.Campaign.ID)
		} else {
			fmt.Println(device, "→ the page's own content")
		}
		d.Release()
	}
	// Output:
	// mobile → phone-only
	// desktop → the page's own content
}
