package admin

import (
	"errors"
	"net/http"

	"go.yaml.in/yaml/v3"

	"github.com/marquee-proxy/marquee/config"
	"github.com/marquee-proxy/marquee/internal/apierror"
)

// validation is the answer of POST /v1/campaigns/validate.
type validation struct {
	OK        bool               `json:"ok"`
	Segments  int                `json:"segments"`
	Campaigns int                `json:"campaigns"`
	Problems  []apierror.Problem `json:"problems"`
}

// validateCampaigns compiles a decisions document exactly as PUT
// /v1/campaigns would, over the running configuration, and reports every
// problem without applying or recording anything: an editor checks a draft
// as it is typed, and what it accepts publishes. Any readable body gets a
// 200; only the body's size or reading fails the call.
func (a *admin) validateCampaigns(w http.ResponseWriter, r *http.Request) error {
	data, err := readBody(r)
	if err != nil {
		return err
	}
	v := validation{Problems: []apierror.Problem{}}
	snap, err := a.opts.Personalizer.Snapshot().WithDecisions("body", data)
	var errs config.Errors
	switch {
	case err == nil:
		v.OK = true
		v.Segments, v.Campaigns = len(snap.Config.Segments), len(snap.Config.Campaigns)
	case errors.As(err, &errs):
		v.Problems = problemsOf(errs)
		v.Segments, v.Campaigns = countDecisions(data)
	default:
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

// countDecisions counts the segments and campaigns a document that does
// not compile holds, as far as it can be read, so that an editor can show
// them while the draft is wrong.
func countDecisions(data []byte) (segments, campaigns int) {
	var d struct {
		Segments  map[string]yaml.Node `yaml:"segments"`
		Campaigns []yaml.Node          `yaml:"campaigns"`
	}
	_ = yaml.Unmarshal(data, &d) // what it could not read counts 0
	return len(d.Segments), len(d.Campaigns)
}
