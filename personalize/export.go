package personalize

import (
	"time"

	"github.com/marquee-proxy/marquee/decide"
	"github.com/marquee-proxy/marquee/export"
)

// conversionOf is who a conversion is exported as, and where it
// happened: copies, for the write queue runs after the request.
type conversionOf struct {
	visitor, customer, url []byte
}

// pageSubject fills the request's export subject for pg's exposures: the
// cookie's visitor, the customer when logged in, the page as the origin
// received it. Nil without an exporter.
func (p *Personalizer) pageSubject(pg *page) *export.Subject {
	if p.exporter == nil {
		return nil
	}
	sc := pg.sc
	sc.target = pg.rc.AppendTarget(sc.target[:0])
	p.exporter.SetSubject(&sc.subject, pg.vid, sc.cust, sc.target, pg.now)
	return &sc.subject
}

// pageConverter is who a conversion page's conversion is exported as.
// Only conversion pages call it, so the copies are rare.
func (p *Personalizer) pageConverter(pg *page) conversionOf {
	if p.exporter == nil {
		return conversionOf{}
	}
	return conversionOf{
		visitor:  append([]byte(nil), pg.vid...),
		customer: append([]byte(nil), pg.sc.cust...),
		url:      pg.rc.AppendTarget(nil),
	}
}

// exportConversions exports one conversion record per credited exposure,
// each worth value. It runs on the write queue once the credit is stored.
func (p *Personalizer) exportConversions(snap *Snapshot, who conversionOf, credited []decide.Attribution, at time.Time, value float64) {
	if p.exporter == nil || len(credited) == 0 {
		return
	}
	var s export.Subject
	p.exporter.SetSubject(&s, who.visitor, who.customer, who.url, at)
	for _, a := range credited {
		p.exporter.Conversion(&s, a.Campaign, experimentOf(snap, a.Campaign), statsVariant(a.Variant), value)
	}
}

// experimentOf returns the experiment id of campaign in snap, "" for a
// campaign without one or no longer configured.
func experimentOf(snap *Snapshot, campaign string) string {
	if campaign == GlobalCampaign {
		return GlobalCampaign
	}
	if c := snap.campaign(campaign); c != nil {
		return c.Experiment()
	}
	return ""
}
