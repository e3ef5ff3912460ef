package admin

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/marquee-proxy/marquee/internal/apierror"
	"github.com/marquee-proxy/marquee/profile"
)

// patchBody is what PATCH /v1/profiles/{id} takes: a JSON merge patch
// (RFC 7396) of the operator-owned fields. A key with null removes it; a
// field left out is kept; "attrs": null removes every attribute.
type patchBody struct {
	Attrs   json.RawMessage `json:"attrs"`
	Scores  json.RawMessage `json:"scores"`
	Consent json.RawMessage `json:"consent"`
}

var jsonNull = []byte("null")

func isNull(raw json.RawMessage) bool { return string(raw) == string(jsonNull) }

func (a *admin) patchProfile(w http.ResponseWriter, r *http.Request) error {
	var body patchBody
	id, err := decodeProfileRequest(r, &body)
	if err != nil {
		return err
	}
	var (
		attrs, scores map[string]any
		consent       profile.Consent
	)
	if body.Attrs != nil && !isNull(body.Attrs) {
		if err := decodeField(body.Attrs, "attrs", &attrs); err != nil {
			return err
		}
		// null values stay in the patch as removals; check the others.
		set := make(map[string]any, len(attrs))
		for k, v := range attrs {
			if v != nil {
				set[k] = v
			}
		}
		if _, err := normaliseAttrs(set); err != nil {
			return err
		}
	}
	if body.Scores != nil && !isNull(body.Scores) {
		if err := decodeField(body.Scores, "scores", &scores); err != nil {
			return err
		}
		set := make(map[string]any, len(scores))
		for k, v := range scores {
			if v != nil {
				set[k] = v
			}
		}
		if _, err := normaliseScores(set); err != nil {
			return err
		}
	}
	if body.Consent != nil && !isNull(body.Consent) {
		if err := decodeField(body.Consent, "consent", &consent); err != nil {
			return err
		}
	}
	p, err := a.opts.Store.Update(id, func(p *profile.Profile) error {
		switch {
		case isNull(body.Attrs):
			p.Attrs = nil
		case attrs != nil:
			for k, v := range attrs {
				p.Touch(profile.RegisterAttr + k)
				if v == nil {
					delete(p.Attrs, k)
					continue
				}
				norm, _ := normaliseAttrs(map[string]any{k: v})
				if p.Attrs == nil {
					p.Attrs = make(map[string]any)
				}
				p.Attrs[k] = norm[k]
			}
		}
		switch {
		case isNull(body.Scores):
			p.Scores = nil
		case scores != nil:
			for k, v := range scores {
				p.Touch(profile.RegisterScore + k)
				if v == nil {
					delete(p.Scores, k)
					continue
				}
				norm, _ := normaliseScores(map[string]any{k: v})
				if p.Scores == nil {
					p.Scores = make(map[string]float64)
				}
				p.Scores[k] = norm[k]
			}
		}
		switch {
		case isNull(body.Consent):
			p.Consent = profile.Consent{}
			p.Touch(profile.RegisterConsent)
		case body.Consent != nil:
			p.Consent = consent
			p.Touch(profile.RegisterConsent)
		}
		return nil
	})
	if err != nil {
		return err
	}
	noteOf(r).summary = fmt.Sprintf("profile %s patched (%s)", id, patchedFields(body, len(attrs), len(scores)))
	writeJSON(w, http.StatusOK, view(p))
	return nil
}

// patchedFields names what a patch changed, and how many keys of each,
// for the audit log: attrs and scores are how many keys the patch's attrs
// and scores, as patchProfile decoded them, hold.
func patchedFields(body patchBody, attrs, scores int) string {
	var parts []string
	for _, f := range []struct {
		name string
		raw  json.RawMessage
		keys int // -1: not counted
	}{{"attrs", body.Attrs, attrs}, {"scores", body.Scores, scores}, {"consent", body.Consent, -1}} {
		switch {
		case f.raw == nil:
		case isNull(f.raw):
			parts = append(parts, f.name+" removed")
		case f.keys >= 0:
			parts = append(parts, fmt.Sprintf("%d %s", f.keys, f.name))
		default:
			parts = append(parts, f.name)
		}
	}
	if len(parts) == 0 {
		return "nothing"
	}
	return strings.Join(parts, ", ")
}

// decodeField decodes one member of a body strictly, naming errors after
// it.
func decodeField(raw json.RawMessage, field string, v any) error {
	if err := decodeStrict(raw, v); err != nil {
		if ae, ok := err.(*apierror.Error); ok {
			if ae.Field == "" {
				ae.Field = field
			} else {
				ae.Field = field + "." + ae.Field
			}
			if ae.Code == apierror.CodeInvalidJSON {
				ae.Code = apierror.CodeInvalidField
			}
		}
		return err
	}
	return nil
}
