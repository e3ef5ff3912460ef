package personalize

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"strings"

	"github.com/marquee-proxy/marquee/internal/apierror"
	"github.com/marquee-proxy/marquee/proxy"

	"github.com/valyala/fasthttp"

	"github.com/marquee-proxy/marquee/decide"
	"github.com/marquee-proxy/marquee/export"
)

// LocalPrefix is the path prefix of the endpoints marquee answers itself on
// the public listener; nothing under it reaches the origin.
const LocalPrefix = "/_marquee/"

// maxDecideSlots bounds the slots one decide call may ask for.
const maxDecideSlots = 20

// SlotDecision is one slot's answer from /_marquee/decide; null in the
// JSON when the slot keeps its own content.
type SlotDecision struct {
	Campaign string `json:"campaign"`
	Variant  string `json:"variant,omitempty"`
	HTML     string `json:"html"`
}

// ServeLocal answers marquee's own endpoints on the public listener:
//
//	GET /_marquee/decide?slots=hero,recs
//
// returns, for the visitor of the cookie (minted when missing), each
// slot's campaign, variant and rendered offer as JSON, for single-page and
// mobile apps that have no HTML for the proxy to rewrite. It is counted as
// exposures like a page view.
func (p *Personalizer) ServeLocal(ctx *fasthttp.RequestCtx) bool {
	if !bytes.HasPrefix(ctx.Path(), []byte(LocalPrefix)) {
		return false
	}
	ctx.Response.Header.Set("Cache-Control", "private, no-store")
	ctx.Response.Header.Set("Vary", "Cookie")
	switch string(ctx.Path()) {
	case LocalPrefix + "decide":
		if !ctx.IsGet() && !ctx.IsHead() {
			ctx.Response.Header.Set("Allow", "GET, HEAD")
			writeLocalError(ctx, apierror.Errorf(http.StatusMethodNotAllowed, apierror.CodeMethodNotAllowed, "", "use GET"))
			return true
		}
		p.serveDecide(ctx)
	default:
		writeLocalError(ctx, apierror.Errorf(http.StatusNotFound, apierror.CodeNotFound, "", "no such marquee endpoint"))
	}
	return true
}

func (p *Personalizer) serveDecide(ctx *fasthttp.RequestCtx) {
	raw := string(ctx.QueryArgs().Peek("slots"))
	var slots []string
	for _, s := range strings.Split(raw, ",") {
		// A slot named twice is decided once: deciding it again would take
		// the next campaign and count exposures nobody saw.
		if s = strings.TrimSpace(s); s != "" && !slices.Contains(slots, s) {
			slots = append(slots, s)
		}
	}
	if len(slots) == 0 || len(slots) > maxDecideSlots {
		writeLocalError(ctx, apierror.Errorf(http.StatusBadRequest, apierror.CodeInvalidField, "slots", "want 1 to %d comma-separated slot names", maxDecideSlots))
		return
	}
	for _, s := range slots {
		if len(s) > 64 {
			writeLocalError(ctx, apierror.Errorf(http.StatusBadRequest, apierror.CodeInvalidField, "slots", "slot name longer than 64 bytes"))
			return
		}
	}
	out := struct {
		Visitor string                   `json:"visitor,omitempty"`
		Slots   map[string]*SlotDecision `json:"slots"`
	}{Slots: make(map[string]*SlotDecision, len(slots))}
	for _, s := range slots {
		out.Slots[s] = nil
	}
	snap := p.snap.Load()
	h := &ctx.Request.Header
	if !snap.bots.isBot(h.UserAgent()) && !p.ingest.consent.optedOutHeader(h) {
		id, ok := p.signer.VerifyCookies(h, p.cookie)
		switch {
		case ok:
			// resolveHeaders waits for the visitor's pending updates.
		case p.ingest.consent.mayMintHeader(h):
			v := p.signer.AppendMint(nil)
			id = v[:VisitorIDLen]
			c := fasthttp.AcquireCookie()
			p.fillCookie(c, v, ctx.IsTLS())
			ctx.Response.Header.SetCookie(c)
			fasthttp.ReleaseCookie(c)
			p.minted.Inc()
		default:
			id = nil // strict consent: no cookie, no decisions
		}
		if id != nil {
			out.Visitor = string(id)
			pid, cust := p.resolveHeaders(h, nil, id, nil)
			if err := p.decideSlots(ctx, snap, pid, subjectIDs{id, cust}, slots, out.Slots); err != nil {
				writeLocalError(ctx, err)
				return
			}
		}
	}
	body, _ := json.Marshal(out)
	ctx.SetContentType("application/json")
	ctx.Response.Header.Set("X-Content-Type-Options", "nosniff")
	ctx.SetBody(body)
}

// subjectIDs are who exported records name: the visitor and, logged in,
// the customer.
type subjectIDs struct{ visitor, customer []byte }

// decideSlots fills res with the offers for slots for profile id,
// counting and exporting exposures as who's.
func (p *Personalizer) decideSlots(ctx *fasthttp.RequestCtx, snap *Snapshot, id []byte, who subjectIDs, slots []string, res map[string]*SlotDecision) error {
	prof, err := p.store.GetBytes(id)
	if err != nil {
		return err
	}
	if prof == nil {
		prof = emptyProfile
	}
	if !prof.Consent.Allows() {
		return nil
	}
	sc := p.scratch.Get().(*personalizeScratch)
	defer p.scratch.Put(sc)
	now := p.now()
	d := snap.Engine.Acquire(prof, id, now)
	sc.context.forLocal(snap.context, ctx)
	defer sc.context.release()
	defer d.Release()
	d.SetContext(&sc.context)
	var choices []decide.Choice
	var buf []byte
	for _, s := range slots {
		ch, ok := d.Choose(s)
		if !ok {
			continue
		}
		choices = append(choices, ch)
		if ch.Holdout() {
			continue
		}
		buf, err = d.AppendOffer(buf[:0], ch)
		if err != nil {
			p.renderFailed(ch.Campaign.ID, s, err)
			continue
		}
		res[s] = &SlotDecision{Campaign: ch.Campaign.ID, Variant: ch.VariantName(), HTML: string(buf)}
	}
	if !ctx.IsHead() {
		var subj *export.Subject
		if p.exporter != nil {
			subj = &sc.subject
			sc.target = sc.context.appendPage(sc.target[:0])
			p.exporter.SetSubject(subj, who.visitor, who.customer, sc.target, now)
		}
		p.expose(snap, id, prof, d, choices, now, subj)
	}
	return nil
}

// appendPage appends the path and query of the page a decide call c
// points at is for, as its exported url: the url parameter, else the
// Referer's path and query; nothing when neither names one. The call's
// own URI is not the page, and its referrer parameter may carry another
// site's URL. It reads the page forLocal parsed.
func (c *requestContext) appendPage(dst []byte) []byte {
	page := c.page
	if len(page) == 0 {
		return dst
	}
	if page[0] == '/' && (len(page) == 1 || page[1] != '/') {
		return append(dst, page...) // a path and query already
	}
	if !c.pageOK {
		return dst
	}
	u := &c.pageURI
	if path := u.PathOriginal(); len(path) == 0 || path[0] != '/' {
		dst = append(dst, '/')
	}
	dst = append(dst, u.PathOriginal()...)
	if q := u.QueryString(); len(q) > 0 {
		dst = append(dst, '?')
		dst = append(dst, q...)
	}
	return dst
}

func writeLocalError(ctx *fasthttp.RequestCtx, err error) {
	status, body := apierror.Encode(err)
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json")
	ctx.SetBody(body)
}

var _ proxy.LocalHandler = (*Personalizer)(nil)
