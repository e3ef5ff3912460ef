package config

import "fmt"

// Default returns the configuration used for every field the file leaves out.
//
// A field that maps onto the options of package proxy, sync or cluster
// (listen, limits, events, store, cluster) stays zero when left out: zero
// there means that package's default (proxy.DefaultOptions,
// sync.DefaultOptions, cluster.DefaultConfig), so the command and a
// library user get the same proxy, store and cluster from one table, and
// this package, which the decision engine imports, depends on none of them.
// The visitor cookie's defaults live here and personalize.DefaultOptions
// reads them, since personalize imports config.
func Default() *Config {
	c := &Config{}
	c.applyDefaults()
	return c
}

func (c *Config) applyDefaults() {
	setString(&c.Admin.Listen, "127.0.0.1:9000")
	setString(&c.TimeZone, "UTC")
	setString(&c.Identity.Cookie, "mq_vid")
	setDuration(&c.Identity.MaxAge, 365*Day)
	setString(&c.Salt, "marquee")
	setDuration(&c.Conversions.Window, 7*Day)
	for i := range c.Campaigns {
		cp := &c.Campaigns[i]
		if cp.Cap != nil {
			setDuration(&cp.Cap.Window, Day)
		}
		if ex := cp.Experiment; ex != nil {
			setString(&ex.ID, cp.ID)
			setString(&ex.Salt, c.Salt)
			for j := range ex.Variants {
				// A weight written as 0 switches the variant off; only an
				// absent weight defaults to 1.
				if _, written := c.pos[fmt.Sprintf("campaigns[%d].experiment.variants[%d].weight", i, j)]; !written && ex.Variants[j].Weight == 0 {
					ex.Variants[j].Weight = 1
				}
			}
		}
	}
	c.applyIngestDefaults()
	c.applyExportDefaults()
	setString(&c.Log.Level, "info")
	setString(&c.Log.Format, "text")
	for i := range c.Slots {
		setString(&c.Slots[i].Mode, "inner")
	}
}

func setString(p *string, v string) {
	if *p == "" {
		*p = v
	}
}

func setDuration(p *Duration, v Duration) {
	if *p == 0 {
		*p = v
	}
}
