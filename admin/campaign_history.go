package admin

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/marquee-proxy/marquee/internal/apierror"
	"github.com/marquee-proxy/marquee/internal/linediff"
	"github.com/marquee-proxy/marquee/opstate"
	"github.com/marquee-proxy/marquee/personalize"
)

// Campaigns is what the admin API needs of a node's versioned decisions
// documents, so that every document it applies is recorded, survives a
// restart and can be rolled back to. Its calls come through the same
// authentication as every other route.
type Campaigns interface {
	// Apply compiles doc (named name in error locations) over the running
	// configuration, makes it the running configuration, and records doc
	// as a new version applied by by (opstate.ByAPI, opstate.ByRollback),
	// replicated to the fleet like any other version. Compiling and
	// applying are one step, so a reload or a version from the fleet in
	// between is never undone. A document with problems is refused with a
	// config.Errors and changes nothing.
	Apply(doc []byte, name, by string) (opstate.Entry, *personalize.Snapshot, error)
	// History lists the kept versions, newest first.
	History() []opstate.Entry
	// Version returns one kept version and its document; ok is false when
	// it is not kept.
	Version(v uint64) (e opstate.Entry, doc []byte, ok bool, err error)
}

func (a *admin) historyRoutes(mux *routes) {
	mux.Handle("GET /v1/campaigns/history", a.read(a.getHistory))
	mux.Handle("GET /v1/campaigns/history/{version}", a.read(a.getHistoryVersion))
	mux.Handle("POST /v1/campaigns/rollback", a.edit(actionCampaignsRollback, a.rollback))
	mux.Handle("GET /v1/campaigns/diff", a.read(a.getDiff))
}

// getDiff answers GET /v1/campaigns/diff?from=A&to=B with the unified diff
// turning version A's document into version B's, labelled as marquee
// campaigns diff labels it, so the console and the command show the same
// text: {"from", "to", "diff"}, the diff "" when the documents are equal.
func (a *admin) getDiff(w http.ResponseWriter, r *http.Request) error {
	var docs [2][]byte
	var labels [2]string
	for i, name := range []string{"from", "to"} {
		raw := r.URL.Query().Get(name)
		v, err := strconv.ParseUint(raw, 10, 64)
		if err != nil {
			return apierror.Errorf(http.StatusBadRequest, apierror.CodeInvalidField, name, "want a version number from GET /v1/campaigns/history")
		}
		e, doc, err := a.version(v)
		if err != nil {
			return err
		}
		docs[i] = doc
		labels[i] = fmt.Sprintf("version %d (by %s at %s)", e.Version, e.By, e.Time.Format(time.RFC3339))
	}
	writeJSON(w, http.StatusOK, map[string]string{
		"from": r.URL.Query().Get("from"),
		"to":   r.URL.Query().Get("to"),
		"diff": linediff.Unified(labels[0], labels[1], string(docs[0]), string(docs[1])),
	})
	return nil
}

// getHistory lists the kept versions of the decisions document, newest
// first.
func (a *admin) getHistory(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, map[string]any{"versions": a.opts.Campaigns.History()})
	return nil
}

// versionDoc is one kept version with its document, as GET
// /v1/campaigns/history/{version} shows it.
type versionDoc struct {
	opstate.Entry
	Document string `json:"document"`
}

func (a *admin) getHistoryVersion(w http.ResponseWriter, r *http.Request) error {
	v, err := strconv.ParseUint(r.PathValue("version"), 10, 64)
	if err != nil {
		return apierror.Errorf(http.StatusBadRequest, apierror.CodeInvalidField, "version", "want a version number from GET /v1/campaigns/history")
	}
	e, doc, err := a.version(v)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, versionDoc{Entry: e, Document: string(doc)})
	return nil
}

// version returns a kept version or the 404 naming it.
func (a *admin) version(v uint64) (opstate.Entry, []byte, error) {
	e, doc, ok, err := a.opts.Campaigns.Version(v)
	if err != nil {
		return e, nil, err
	}
	if !ok {
		return e, nil, apierror.Errorf(http.StatusNotFound, apierror.CodeNotFound, "version", "no version %d in the history", v)
	}
	return e, doc, nil
}

// rollbackBody is what POST /v1/campaigns/rollback takes. The version may
// come as a number or, as the history lists it, a string.
type rollbackBody struct {
	Version json.RawMessage `json:"version"`
}

// rollback applies an old version again, as a new version by "rollback",
// compiled against today's configuration like any PUT.
func (a *admin) rollback(w http.ResponseWriter, r *http.Request) error {
	var body rollbackBody
	if err := decodeBody(r, &body); err != nil {
		return err
	}
	v, err := parseVersion(body.Version)
	if err != nil {
		return err
	}
	_, doc, err := a.version(v)
	if err != nil {
		return err
	}
	return a.apply(w, r, doc, "version "+strconv.FormatUint(v, 10), opstate.ByRollback, "rolled back to version "+strconv.FormatUint(v, 10)+" as")
}

// parseVersion reads a version given as a JSON number or a string of
// digits.
func parseVersion(raw json.RawMessage) (uint64, error) {
	bad := apierror.Errorf(http.StatusBadRequest, apierror.CodeInvalidField, "version", "want a version number from GET /v1/campaigns/history")
	if len(raw) == 0 || string(raw) == "null" {
		return 0, apierror.Errorf(http.StatusBadRequest, apierror.CodeInvalidField, "version", "version is required")
	}
	s := string(raw)
	if raw[0] == '"' {
		if err := json.Unmarshal(raw, &s); err != nil {
			return 0, bad
		}
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, bad
	}
	return v, nil
}
