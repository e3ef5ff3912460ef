package admin

import "net/http"

// getSegments answers GET /v1/segments: each configured segment with its
// estimated number of stored profiles (see
// personalize.Personalizer.EstimateSegments).
func (a *admin) getSegments(w http.ResponseWriter, r *http.Request) error {
	est, err := a.opts.Personalizer.EstimateSegments()
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, est)
	return nil
}
