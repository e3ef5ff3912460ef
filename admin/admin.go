package admin

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
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

// decodeBody reads r's bounded body (readBody) and decodes it strictly
// as JSON into v.
func decodeBody(r *http.Request, v any) error {
	data, err := readBody(r)
	if err != nil {
		return err
	}
	return decodeStrict(data, v)
}
