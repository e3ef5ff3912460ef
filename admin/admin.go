package admin

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/marquee-proxy/marquee/opstate"
	"github.com/marquee-proxy/marquee/personalize"
	"github.com/marquee-proxy/marquee/profile"

	"github.com/marquee-proxy/marquee/internal/apierror"
	"github.com/marquee-proxy/marquee/internal/expiring"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	msync "github.com/marquee-proxy/marquee/sync"
)

// Bounds of what the admin API accepts in one profile.
const (
	maxAdminBody  = 1 << 20
	maxAttrs      = 256
	maxAttrKey    = 64
	maxAttrString = 4096
)

// Options configures the admin HTTP API.
type Options struct {
	// Token, when non-empty, is an edit token named "admin" (TokenNameAdmin),
	// alongside Tokens. When Token and Tokens are both empty no call needs a
	// token and every caller is "anonymous" with the edit role (only
	// acceptable on a loopback listener; config validation enforces that).
	// /healthz, /readyz and the dashboard page never need a token.
	Token string
	// Tokens are the named bearer tokens and their roles. Names and
	// tokens must be unique.
	Tokens []Token
	// Audit records every call to a route that needs an edit token and
	// serves GET /v1/audit. Nil: an in-memory log of the last
	// opstate.DefaultAuditKeep calls.
	Audit AuditLog
	// Store holds the profiles. Required.
	Store *msync.Store
	// Gatherer serves /metrics. Nil: /metrics answers 404.
	Gatherer prometheus.Gatherer
	// Logger receives one line per failed call (5xx). Nil discards.
	Logger *slog.Logger
	// Segments evaluates the segments a profile is in now, for GET
	// /v1/profiles/{id}. Nil: profiles are shown without segments.
	Segments func(p *profile.Profile) []string
	// Personalizer serves the decision endpoints: campaigns (read and
	// replace), explain, preview and stats. Nil: they answer 404.
	Personalizer *personalize.Personalizer
	// Stats returns the experiment report for GET /v1/stats. Nil: 404.
	Stats func() any
	// Cluster is this node's fleet: GET /v1/cluster shows it, and every
	// decisions document PUT /v1/campaigns applies is published to it.
	// Nil: a single node, and /v1/cluster answers 404.
	Cluster Cluster
	// Cache is the node's edge cache, which POST /v1/cache/purge purges.
	// Nil: the cache is off, and that route answers 404 cache_off.
	Cache Cache
	// Purges replicates each purge POST /v1/cache/purge applies to the
	// fleet. Nil: purges apply to this node only.
	Purges PurgePublisher
	// PreviewURL is the shop as browsers reach it through this node's
	// proxy, e.g. "http://127.0.0.1:8000": the base of the page preview
	// links of POST /v1/campaigns/preview and of rendered offers' relative
	// links. The console's Content-Security-Policy lets it frame this
	// origin, for the page preview. Empty: previews carry no page_url.
	PreviewURL string
	// Campaigns records every decisions document PUT /v1/campaigns and
	// POST /v1/campaigns/rollback apply as a version, and serves the
	// history routes; it publishes to the fleet itself, so Cluster's
	// PublishCampaigns is not called when it is set. Nil: documents are
	// swapped in unrecorded and the history routes answer 404.
	Campaigns Campaigns
	// History is the node's recent traffic, which GET
	// /v1/metrics/history serves for the console's charts; the caller
	// starts and stops its sampling. Nil: that route answers 404.
	History *MetricsHistory
}

// Cluster is what the admin API needs of a node's fleet. Its calls come
// through the same authentication as every other route.
type Cluster interface {
	// Status is the body of GET /v1/cluster: this node and its members.
	Status() any
	// PublishCampaigns replicates a decisions document this node has just
	// applied, as it was sent.
	PublishCampaigns(doc []byte)
}

// admin serves the admin API.
type admin struct {
	opts    Options
	log     *slog.Logger
	creds   []credential
	routes  []route
	handler http.Handler
	audit   AuditLog
	// refusals limits how often a refused call is recorded.
	refusals refusals
	// csp is the console page's Content-Security-Policy.
	csp string
	// offers are the offers POST /v1/campaigns/preview rendered, served
	// at offerPath.
	offers *expiring.Store[[]byte]
}

// New returns the admin API handler.
func New(opts Options) (http.Handler, error) {
	a, err := newAdmin(opts)
	if err != nil {
		return nil, err
	}
	return a.handler, nil
}

// newAdmin builds the admin API with its routes.
func newAdmin(opts Options) (*admin, error) {
	if opts.Store == nil {
		return nil, errors.New("admin: admin API needs a store")
	}
	origin, err := previewOrigin(opts.PreviewURL)
	if err != nil {
		return nil, err
	}
	creds, err := credentials(opts)
	if err != nil {
		return nil, err
	}
	a := &admin{opts: opts, log: opts.Logger, creds: creds, audit: opts.Audit, csp: dashboardPolicy(origin), offers: newOffers()}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	if a.audit == nil {
		if a.audit, err = opstate.OpenAudit("", opstate.AuditOptions{Logger: a.log}); err != nil {
			return nil, err
		}
	}
	mux := &routes{a: a, mux: http.NewServeMux()}
	mux.public("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.public("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	})
	// Exactly "/" and the console's files, without a token: see
	// serveDashboard.
	mux.public("GET /{$}", a.serveDashboard)
	mux.public("GET /assets/{name}", serveAsset)
	// Without a token too: see serveOffer.
	mux.public("GET "+offerPath+"{id}", a.serveOffer)
	mux.Handle("GET /v1/whoami", a.read(a.whoami))
	mux.Handle("GET /v1/audit", a.read(a.getAudit))
	mux.Handle("GET /v1/profiles/{id}", a.read(a.getProfile))
	mux.Handle("PUT /v1/profiles/{id}", a.edit(actionProfilePut, a.putProfile))
	mux.Handle("DELETE /v1/profiles/{id}", a.edit(actionProfileDelete, a.deleteProfile))
	mux.Handle("PATCH /v1/profiles/{id}", a.edit(actionProfilePatch, a.patchProfile))
	mux.Handle("POST /v1/events", a.edit(actionEvents, a.postEvents))
	mux.Handle("POST /v1/import", a.edit(actionImport, a.postImport))
	mux.Handle("POST /v1/cache/purge", a.edit(actionCachePurge, a.postCachePurge))
	if opts.Personalizer != nil {
		a.decisionRoutes(mux)
	}
	if opts.Cluster != nil {
		mux.Handle("GET /v1/cluster", a.read(func(w http.ResponseWriter, r *http.Request) error {
			writeJSON(w, http.StatusOK, opts.Cluster.Status())
			return nil
		}))
	}
	if opts.History != nil {
		mux.Handle("GET /v1/metrics/history", a.read(a.getMetricsHistory))
	}
	// Go's profiler, behind the same token, for finding what a node spends
	// its CPU on under real traffic.
	for _, p := range pprofRoutes {
		mux.Handle("GET "+p.path, a.read(func(w http.ResponseWriter, r *http.Request) error {
			p.h(w, r)
			return nil
		}))
	}
	if opts.Gatherer != nil {
		mux.Handle("GET /metrics", a.read(func(w http.ResponseWriter, r *http.Request) error {
			promhttp.HandlerFor(opts.Gatherer, promhttp.HandlerOpts{}).ServeHTTP(w, r)
			return nil
		}))
	}
	a.routes = mux.list
	a.handler = a.recover(mux.mux)
	return a, nil
}

// recover answers 500 instead of dropping the connection when a handler
// panics, and keeps the process up.
func (a *admin) recover(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				a.log.Error("admin: panic", "method", r.Method, "path", r.URL.Path, "panic", fmt.Sprint(v))
				apierror.Write(w, nil)
			}
		}()
		// Paths and methods the mux does not know get the common error
		// shape too.
		next.ServeHTTP(&notFoundWriter{ResponseWriter: w}, r)
	})
}

// notFoundWriter turns the mux's plain-text 404 and 405 into the common
// JSON error shape.
type notFoundWriter struct {
	http.ResponseWriter
	replaced bool
}

func (w *notFoundWriter) WriteHeader(status int) {
	if (status == http.StatusNotFound || status == http.StatusMethodNotAllowed) &&
		strings.HasPrefix(w.Header().Get("Content-Type"), "text/plain") {
		w.replaced = true
		code := apierror.CodeNotFound
		if status == http.StatusMethodNotAllowed {
			code = apierror.CodeMethodNotAllowed
		}
		w.Header().Del("X-Content-Type-Options")
		apierror.Write(w.ResponseWriter, &apierror.Error{Status: status, Code: code, Message: strings.ToLower(http.StatusText(status))})
		return
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *notFoundWriter) Write(b []byte) (int, error) {
	if w.replaced {
		return len(b), nil
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap gives http.ResponseController the connection's writer, for
// flushing, deadlines and full duplex.
func (w *notFoundWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func profileID(r *http.Request) (string, error) {
	id := r.PathValue("id")
	if !msync.ValidID(id) {
		return "", apierror.Errorf(http.StatusBadRequest, apierror.CodeInvalidID, "id", "profile id must be 1 to %d characters of letters, digits and -_.:@", msync.MaxIDLen)
	}
	return id, nil
}

// profileView is a profile as the admin API shows it: the version as a
// string, since JavaScript numbers cannot hold 64 bits.
type profileView struct {
	*profile.Profile
	Version  string   `json:"version"`
	Segments []string `json:"segments,omitzero"`
}

func (a *admin) getProfile(w http.ResponseWriter, r *http.Request) error {
	id, err := profileID(r)
	if err != nil {
		return err
	}
	p, err := a.opts.Store.Get(id)
	if err != nil {
		return err
	}
	if p == nil {
		return apierror.Errorf(http.StatusNotFound, apierror.CodeNotFound, "", "no profile %q", id)
	}
	v := view(p)
	if a.opts.Segments != nil {
		v.Segments = a.opts.Segments(p)
		if v.Segments == nil {
			v.Segments = []string{}
		}
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

func view(p *profile.Profile) profileView {
	return profileView{Profile: p, Version: strconv.FormatUint(uint64(p.Version), 10)}
}

// profileBody is what PUT /v1/profiles/{id} takes: the fields the
// operator owns. Observed behaviour (views, sessions, recent items) belongs
// to the proxy and is kept.
type profileBody struct {
	Attrs   map[string]any   `json:"attrs"`
	Scores  map[string]any   `json:"scores"`
	Consent *profile.Consent `json:"consent"`
}

// decodeProfileRequest reads the profile id from the path and the JSON
// body into v, strictly.
func decodeProfileRequest(r *http.Request, v any) (string, error) {
	id, err := profileID(r)
	if err != nil {
		return "", err
	}
	data, err := readBody(r)
	if err != nil {
		return "", err
	}
	return id, decodeStrict(data, v)
}

func (a *admin) putProfile(w http.ResponseWriter, r *http.Request) error {
	var body profileBody
	id, err := decodeProfileRequest(r, &body)
	if err != nil {
		return err
	}
	attrs, err := normaliseAttrs(body.Attrs)
	if err != nil {
		return err
	}
	scores, err := normaliseScores(body.Scores)
	if err != nil {
		return err
	}
	p, err := a.opts.Store.Update(id, func(p *profile.Profile) error {
		p.Attrs = attrs
		p.Scores = scores
		for k := range attrs {
			p.Touch(profile.RegisterAttr + k)
		}
		for k := range scores {
			p.Touch(profile.RegisterScore + k)
		}
		p.Touch(profile.RegisterConsent)
		if body.Consent != nil {
			p.Consent = *body.Consent
		} else {
			p.Consent = profile.Consent{}
		}
		return nil
	})
	if err != nil {
		return err
	}
	noteOf(r).summary = fmt.Sprintf("profile %s replaced (%s, %s)", id, plural(len(attrs), "attribute"), plural(len(scores), "score"))
	writeJSON(w, http.StatusOK, view(p))
	return nil
}

func (a *admin) deleteProfile(w http.ResponseWriter, r *http.Request) error {
	id, err := profileID(r)
	if err != nil {
		return err
	}
	// Erasure: the profile, its linked ids and counters go, and a
	// tombstone keeps older writes from bringing them back.
	if err := a.opts.Store.Erase(id); err != nil {
		return err
	}
	noteOf(r).summary = "profile " + id + " erased"
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// readBody reads a bounded request body. Content-Type is not checked: the
// body is parsed strictly as JSON whatever it claims, so that a plain
// "curl -d" works.
func readBody(r *http.Request) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r.Body, maxAdminBody+1))
	if err != nil {
		return nil, apierror.Errorf(http.StatusBadRequest, apierror.CodeInvalidJSON, "", "reading body: %v", err)
	}
	if len(data) > maxAdminBody {
		return nil, apierror.Errorf(http.StatusRequestEntityTooLarge, apierror.CodeTooLarge, "", "body larger than %d bytes", maxAdminBody)
	}
	return data, nil
}

// normaliseAttrs checks attribute values are strings, finite numbers or
// booleans within bounds, turning json.Numbers into float64.
func normaliseAttrs(in map[string]any) (map[string]any, error) {
	if len(in) > maxAttrs {
		return nil, apierror.Errorf(http.StatusBadRequest, apierror.CodeInvalidField, "attrs", "more than %d attributes", maxAttrs)
	}
	out := make(map[string]any, len(in))
	for k, v := range in {
		field := "attrs." + k
		if k == "" || len(k) > maxAttrKey {
			return nil, apierror.Errorf(http.StatusBadRequest, apierror.CodeInvalidField, field, "attribute names are 1 to %d bytes", maxAttrKey)
		}
		switch v := v.(type) {
		case string:
			if len(v) > maxAttrString {
				return nil, apierror.Errorf(http.StatusBadRequest, apierror.CodeInvalidField, field, "string longer than %d bytes", maxAttrString)
			}
			out[k] = v
		case bool:
			out[k] = v
		case json.Number:
			f, err := v.Float64()
			if err != nil || math.IsInf(f, 0) {
				return nil, apierror.Errorf(http.StatusBadRequest, apierror.CodeInvalidField, field, "number %s out of range", v)
			}
			out[k] = f
		case nil:
			// null removes the attribute.
		default:
			return nil, apierror.Errorf(http.StatusBadRequest, apierror.CodeInvalidField, field, "want a string, number or boolean, got %s", jsonKind(v))
		}
	}
	return out, nil
}

// normaliseScores checks scores are finite numbers.
func normaliseScores(in map[string]any) (map[string]float64, error) {
	if len(in) > maxAttrs {
		return nil, apierror.Errorf(http.StatusBadRequest, apierror.CodeInvalidField, "scores", "more than %d scores", maxAttrs)
	}
	if in == nil {
		return nil, nil
	}
	out := make(map[string]float64, len(in))
	for k, v := range in {
		field := "scores." + k
		n, ok := v.(json.Number)
		if !ok {
			return nil, apierror.Errorf(http.StatusBadRequest, apierror.CodeInvalidField, field, "want a number, got %s", jsonKind(v))
		}
		f, err := n.Float64()
		if err != nil || math.IsInf(f, 0) || k == "" || len(k) > maxAttrKey {
			return nil, apierror.Errorf(http.StatusBadRequest, apierror.CodeInvalidField, field, "want a finite number under a name of 1 to %d bytes", maxAttrKey)
		}
		out[k] = f
	}
	return out, nil
}

func jsonKind(v any) string {
	switch v.(type) {
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", v)
}
