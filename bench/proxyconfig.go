package bench

import (
	"fmt"
	"strconv"
	"strings"
)

// ProxyConfig returns the YAML configuration of the proxy under test:
// listeners on free loopback ports, profiles in memory, the given
// cookie-signing key (so the bench can mint valid cookies), and for every
// slot a campaign for gold visitors, one for likely buyers and a
// higher-priority one that matches nobody, so each decision weighs several
// campaigns as a real one would. Offers are about the size of a short
// banner.
func ProxyConfig(originURL, key string, slots []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `listen: 127.0.0.1:0
origin: %s
admin:
  listen: 127.0.0.1:0
data_dir: ""
identity:
  keys: [%s]
log:
  level: info
segments:
  gold: 'attrs.tier == "gold"'
  likely_buyer: 'score("propensity") > 0.5'
  platinum: 'attrs.tier == "platinum" and purchases.total_30d > 1000'
campaigns:
`, strconv.Quote(originURL), strconv.Quote(key))
	for i, s := range slots {
		q := strconv.Quote(s)
		fmt.Fprintf(&b, `  - id: vip-%[1]d
    slot: %[2]s
    when: platinum
    priority: 20
    template: '<div class="vip">Private sale for {{.Profile.Attrs.name}}</div>'
  - id: gold-%[1]d
    slot: %[2]s
    when: gold
    priority: 10
    template: '<div class="banner"><h2>Welcome back, {{.Profile.Attrs.name}}</h2><p>Gold members: free express shipping in {{.Profile.Attrs.city}}</p></div>'
  - id: buyer-%[1]d
    slot: %[2]s
    when: likely_buyer
    priority: 5
    template: '<p class="offer">{{.Profile.Attrs.name}}, 10%% off your next order</p>'
`, i, q)
	}
	return b.String()
}

// CacheSection is the cache: section added to ProxyConfig's text for the
// cached servers of "marquee bench -cache": room for many copies of any page
// the bench serves (max_object lets a page of up to 16 MiB be stored), and
// X-Cache on every response so that the load generator counts hits as it
// does for nginx.
const CacheSection = `cache:
  max_size: 64MiB
  max_object: 16MiB
  x_cache_header: true
`

// ProfileBody returns the admin API body (PUT /v1/profiles/{id}) of
// generated visitor i: nine in ten are gold members with a high propensity
// score, so most requests fill every slot; the rest match no campaign and
// see the fallback, as some visitors do.
func ProfileBody(i int) string {
	tier, propensity := "gold", 0.9
	if i%10 == 9 {
		tier, propensity = "basic", 0.1
	}
	cities := [...]string{"Lyon", "Porto", "Leeds", "Graz", "Turku"}
	return fmt.Sprintf(`{"attrs":{"tier":%q,"name":"Visitor %d","city":%q},"scores":{"propensity":%g}}`,
		tier, i, cities[i%len(cities)], propensity)
}
