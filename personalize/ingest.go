package personalize

import (
	"github.com/marquee-proxy/marquee/proxy"
	"github.com/valyala/fasthttp"
)

// ingest is what the Personalizer needs to observe visitors: the tracker,
// the customer id resolver and the consent policy.
type ingest struct {
	tracker  *Tracker
	customer *CustomerResolver
	consent  ConsentPolicy
}

// resolve returns the profile id a request reads: the customer's when the
// request carries a verified customer id (cust, appended to buf), else the
// visitor's. A first sight of the two together links them; when the
// visitor has an anonymous profile, it is merged now, so this very page
// sees one person. It first waits, once, for the pending updates of the
// visitor and of the customer.
func (p *Personalizer) resolve(rc *proxy.RewriteContext, vid, buf []byte) (id, cust []byte) {
	return p.resolveHeaders(rc.RequestHeader(), rc.OriginResponseHeader(), vid, buf)
}

// resolveHeaders is resolve from the request's and the origin response's
// headers; origin may be nil (requests marquee answers itself).
func (p *Personalizer) resolveHeaders(req *fasthttp.RequestHeader, origin *fasthttp.ResponseHeader, vid, buf []byte) (id, cust []byte) {
	in := &p.ingest
	if in.customer != nil {
		cust = in.customer.resolve(req, origin, buf)
	}
	p.queue.wait(vid, cust)
	if cust == nil {
		return vid, buf[:0]
	}
	if vp, err := p.store.GetBytes(vid); err == nil && vp != nil {
		if err := p.store.Link(string(vid), string(cust)); err != nil {
			p.log.Warn("linking visitor to customer failed", "err", err)
		}
	} else if in.tracker != nil {
		in.tracker.Link(vid, cust)
	} else if err := p.store.Link(string(vid), string(cust)); err != nil {
		p.log.Warn("linking visitor to customer failed", "err", err)
	}
	return cust, cust
}

// observeUnslotted tracks a page without slots for a visitor who already
// has a valid cookie; no cookie is minted for such pages.
func (p *Personalizer) observeUnslotted(snap *Snapshot, rc *proxy.RewriteContext) {
	in := &p.ingest
	if in.tracker == nil {
		return
	}
	vid, ok := p.trackedVisitor(snap, rc.RequestHeader())
	if !ok {
		return
	}
	sc := p.scratch.Get().(*personalizeScratch)
	defer p.scratch.Put(sc)
	id, cust := p.resolve(rc, vid, sc.cust)
	sc.cust = cust
	prof, err := p.store.GetBytes(id)
	if err == nil && prof != nil && !prof.Consent.Allows() {
		return // declined
	}
	if snap.Engine.ReadsVisit() && !rc.RequestHeader().IsHead() && (prof == nil || p.now().Sub(prof.LastSeen) >= touchEvery) {
		// Pages without slots go on with the session too (see visit).
		in.tracker.Visit(vid, cust, rc.URI().Path())
	}
	in.tracker.Observe(rc, vid, cust)
}

// ObserveResponse records the event an origin annotated a response with
// when that response bypasses the rewrite stage (an add-to-cart redirect, a
// JSON answer): see Options.ObserveResponse. Only a visitor with a valid
// cookie who has not opted out is tracked; nothing is minted.
func (p *Personalizer) ObserveResponse(req *fasthttp.RequestHeader, resp *fasthttp.ResponseHeader) {
	in := &p.ingest
	if in.tracker == nil || in.tracker.evHdr == "" {
		return
	}
	ev := resp.Peek(in.tracker.evHdr)
	if len(ev) == 0 {
		return
	}
	vid, ok := p.trackedVisitor(p.snap.Load(), req)
	if !ok {
		return
	}
	sc := p.scratch.Get().(*personalizeScratch)
	defer p.scratch.Put(sc)
	id := vid
	if in.customer != nil {
		if sc.cust = in.customer.resolve(req, resp, sc.cust); sc.cust != nil {
			id = sc.cust
		}
	}
	if p.declined(id) {
		return
	}
	in.tracker.enqueue(&jobFields{visitor: vid, customer: sc.cust, header: ev})
}

// trackedVisitor returns the visitor id of a request that may be tracked
// without minting a cookie: one with a valid visitor cookie, not opted out,
// not from a crawler. The id borrows the request's cookie.
func (p *Personalizer) trackedVisitor(snap *Snapshot, req *fasthttp.RequestHeader) ([]byte, bool) {
	if p.ingest.consent.optedOutHeader(req) || snap.bots.isBot(req.UserAgent()) {
		return nil, false
	}
	return p.signer.Verify(req.Cookie(p.cookie))
}

// declined reports whether profile id is stored with consent withdrawn.
func (p *Personalizer) declined(id []byte) bool {
	prof, err := p.store.GetBytes(id)
	return err == nil && prof != nil && !prof.Consent.Allows()
}
