package admin

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"strconv"
	"time"

	"github.com/marquee-proxy/marquee/opstate"
	"github.com/marquee-proxy/marquee/personalize"
	"github.com/marquee-proxy/marquee/profile"

	"github.com/marquee-proxy/marquee/internal/httpfield"

	"github.com/marquee-proxy/marquee/internal/apierror"

	"go.yaml.in/yaml/v3"

	"github.com/marquee-proxy/marquee/config"
	"github.com/marquee-proxy/marquee/decide"
	msync "github.com/marquee-proxy/marquee/sync"
)

// maxPreviewTTL bounds how long a preview token stays valid.
const maxPreviewTTL = 30 * 24 * time.Hour

func (a *admin) decisionRoutes(mux *routes) {
	mux.Handle("GET /v1/campaigns", a.read(a.getCampaigns))
	mux.Handle("PUT /v1/campaigns", a.edit(actionCampaignsPublish, a.putCampaigns))
	mux.Handle("POST /v1/campaigns/validate", a.read(a.validateCampaigns))
	mux.Handle("POST /v1/campaigns/preview", a.read(a.previewCampaign))
	mux.Handle("GET /v1/explain", a.read(a.explain))
	// A preview token shows a variant to whoever holds it; it changes
	// nothing.
	mux.Handle("POST /v1/preview", a.read(a.preview))
	mux.Handle("GET /v1/segments", a.read(a.getSegments))
	if a.opts.Campaigns != nil {
		a.historyRoutes(mux)
	}
	if a.opts.Stats != nil {
		mux.Handle("GET /v1/stats", a.read(func(w http.ResponseWriter, r *http.Request) error {
			writeJSON(w, http.StatusOK, a.opts.Stats())
			return nil
		}))
	}
}

// getCampaigns returns the running segments, campaigns and the rest of the
// replaceable configuration in the form PUT takes: YAML, or JSON of the
// same shape when the client accepts application/json (scripts and the
// dashboard read it without a YAML parser).
func (a *admin) getCampaigns(w http.ResponseWriter, r *http.Request) error {
	snap := a.opts.Personalizer.Snapshot()
	out, err := snap.Config.Decisions().Document()
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Vary", "Accept")
	h.Set("X-Marquee-Config-Version", strconv.FormatUint(snap.Version, 10))
	if acceptsJSON(r.Header.Values("Accept")) {
		// Through the YAML document, so that the JSON has its keys and
		// shapes exactly (the config types carry no JSON forms of their own).
		var doc any
		if err := yaml.Unmarshal(out, &doc); err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, doc)
		return nil
	}
	h.Set("Content-Type", "application/yaml")
	_, err = w.Write(out)
	return err
}

var strApplicationJSON = []byte("application/json")

// acceptsJSON reports whether an Accept header names application/json
// with a quality above zero (RFC 9110 §12.5.1), read as negotiate reads
// Accept-Encoding.
func acceptsJSON(accept []string) bool {
	for _, line := range accept {
		for tok, rest := httpfield.Next([]byte(line)); tok != nil || len(rest) > 0; tok, rest = httpfield.Next(rest) {
			mt, params, _ := bytes.Cut(tok, []byte(";"))
			if bytes.EqualFold(httpfield.TrimOWS(mt), strApplicationJSON) {
				return httpfield.ParseQ(params) > 0
			}
		}
	}
	return false
}

// putCampaigns replaces segments, campaigns, slots, experiments and the
// catalog atomically: requests see the old set or the new, never a mix. A
// document with problems is refused with every problem located in it, and
// the running set keeps serving.
func (a *admin) putCampaigns(w http.ResponseWriter, r *http.Request) error {
	data, err := readBody(r)
	if err != nil {
		return err
	}
	return a.apply(w, r, data, "body", opstate.ByAPI, "published")
}

// apply compiles doc (named name in error locations) against the running
// configuration, swaps it in and records and publishes it as a version by
// by. The audit log's summary starts with what, e.g. "published".
func (a *admin) apply(w http.ResponseWriter, r *http.Request, data []byte, name, by, what string) error {
	var (
		snap *personalize.Snapshot
		err  error
		out  = map[string]any{}
	)
	note := noteOf(r)
	if a.opts.Campaigns != nil {
		var e opstate.Entry
		if e, snap, err = a.opts.Campaigns.Apply(data, name, by); err == nil {
			note.version = strconv.FormatUint(e.Version, 10)
			out["history_version"] = note.version
		}
	} else if snap, err = a.opts.Personalizer.Snapshot().WithDecisions(name, data); err == nil {
		a.opts.Personalizer.Swap(snap)
		if a.opts.Cluster != nil {
			a.opts.Cluster.PublishCampaigns(data)
		}
	}
	if err == nil {
		cfg := snap.Config
		out["segments"], out["campaigns"] = len(cfg.Segments), len(cfg.Campaigns)
		out["version"] = snap.Version // set by the swap
		v := note.version
		if v == "" {
			v = strconv.FormatUint(snap.Version, 10)
		}
		note.summary = fmt.Sprintf("%s version %s (%s, %s)", what, v, plural(len(cfg.Segments), "segment"), plural(len(cfg.Campaigns), "campaign"))
		a.log.Info("campaigns replaced through the admin API", "version", snap.Version, "by", by, "history_version", out["history_version"], "campaigns", len(cfg.Campaigns))
		writeJSON(w, http.StatusOK, out)
		return nil
	}
	return configError(err, "nothing was changed")
}

// configError turns a document's config.Errors into the 400 that lists
// each problem, as text in details and located in problems; other errors
// pass unchanged. what ends the message.
func configError(err error, what string) error {
	var errs config.Errors
	if !errors.As(err, &errs) {
		return err
	}
	ae := apierror.Errorf(http.StatusBadRequest, apierror.CodeInvalidConfig, "", "%d problem(s); %s", len(errs), what)
	for _, e := range errs {
		ae.Details = append(ae.Details, e.Error())
	}
	ae.Problems = problemsOf(errs)
	return ae
}

// problemsOf locates each of errs for a client, in their order (the
// document's).
func problemsOf(errs config.Errors) []apierror.Problem {
	out := make([]apierror.Problem, 0, len(errs))
	for _, e := range errs {
		out = append(out, apierror.Problem{Line: e.Line, Field: e.Path, Message: e.Msg})
	}
	return out
}

// explain answers GET /v1/explain?visitor=ID&url=PATH: every segment's value
// and why each campaign fills its slot or not, for that visitor now, on the
// request described by url (path and query), host, referrer, user_agent,
// country (as a trusted geo header) and ip (for the geo database), all
// optional: the names expressions read of the request.
func (a *admin) explain(w http.ResponseWriter, r *http.Request) error {
	id := r.URL.Query().Get("visitor")
	if !msync.ValidID(id) {
		return apierror.Errorf(http.StatusBadRequest, apierror.CodeInvalidID, "visitor", "want a visitor or customer id")
	}
	prof, err := a.opts.Store.Get(id)
	if err != nil {
		return err
	}
	found := prof != nil
	if prof == nil {
		prof = &profile.Profile{ID: id}
	}
	p := a.opts.Personalizer
	snap := p.Snapshot()
	q := r.URL.Query()
	req := personalize.ExplainRequest{URL: q.Get("url"), Host: q.Get("host"), Referrer: q.Get("referrer"), UserAgent: q.Get("user_agent"), Country: q.Get("country")}
	if s := q.Get("ip"); s != "" {
		ip, err := netip.ParseAddr(s)
		if err != nil {
			return apierror.Errorf(http.StatusBadRequest, apierror.CodeInvalidField, "ip", "want an IP address")
		}
		req.IP = ip
	}
	x := snap.Engine.ExplainIn(prof, []byte(id), p.Now(), snap.ContextOf(req))
	writeJSON(w, http.StatusOK, struct {
		Visitor        string `json:"visitor"`
		URL            string `json:"url,omitempty"`
		ProfileFound   bool   `json:"profile_found"`
		Consent        bool   `json:"consent"`
		ConfigVersion  uint64 `json:"config_version"`
		ConversionPage bool   `json:"conversion_page"`
		decide.Explanation
	}{id, r.URL.Query().Get("url"), found, prof.Consent.Allows(), snap.Version,
		snap.Engine.IsConversionPath([]byte(r.URL.Query().Get("url"))), x})
	return nil
}

// previewRequestBody is what POST /v1/preview takes.
type previewRequestBody struct {
	Campaign string `json:"campaign"`
	Variant  string `json:"variant"`
	TTL      string `json:"ttl"`
}

// preview mints a signed preview token for a campaign and variant.
func (a *admin) preview(w http.ResponseWriter, r *http.Request) error {
	var body previewRequestBody
	if err := decodeBody(r, &body); err != nil {
		return err
	}
	ttl := time.Hour
	if body.TTL != "" {
		d, err := config.ParseDuration(body.TTL)
		if err != nil || d <= 0 || d.D() > maxPreviewTTL {
			return apierror.Errorf(http.StatusBadRequest, apierror.CodeInvalidField, "ttl", "want a duration up to 30d, e.g. \"1h\"")
		}
		ttl = d.D()
	}
	p := a.opts.Personalizer
	if err := checkPreviewTarget(p.Snapshot(), body.Campaign, body.Variant); err != nil {
		return err
	}
	expires := p.Now().Add(ttl)
	tok := p.Signer().SignPreview(body.Campaign, body.Variant, expires)
	writeJSON(w, http.StatusOK, map[string]any{
		"token":   tok,
		"query":   personalize.PreviewParam + "=" + tok,
		"header":  personalize.PreviewHeader + ": " + tok,
		"expires": expires.UTC().Format(time.RFC3339),
	})
	return nil
}

// checkPreviewTarget makes sure the campaign and variant exist, so a typo
// is caught when the link is made, not when QA opens it.
func checkPreviewTarget(snap *personalize.Snapshot, campaign, variant string) error {
	for _, c := range snap.Engine.Campaigns() {
		if c.ID != campaign {
			continue
		}
		if variant == "" {
			return nil
		}
		for _, v := range c.Variants() {
			if v.Name == variant {
				return nil
			}
		}
		return apierror.Errorf(http.StatusBadRequest, apierror.CodeInvalidField, "variant", "campaign %q has no variant %q", campaign, variant)
	}
	return apierror.Errorf(http.StatusBadRequest, apierror.CodeInvalidField, "campaign", "no campaign %q", campaign)
}
