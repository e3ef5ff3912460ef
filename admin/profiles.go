package admin

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strconv"

	"github.com/marquee-proxy/marquee/profile"

	"github.com/marquee-proxy/marquee/internal/apierror"

	msync "github.com/marquee-proxy/marquee/sync"
)

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
	return id, decodeBody(r, v)
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
