package admin

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/marquee-proxy/marquee/internal/apierror"

	msync "github.com/marquee-proxy/marquee/sync"
)

// maxImportRejects bounds the rejected lines an import answer lists; the
// counts cover all of them.
const maxImportRejects = 1000

// importReject is one rejected line of an import.
type importReject struct {
	Line  int             `json:"line"`
	Error *apierror.Error `json:"error"`
}

// importAnswer is the answer to POST /v1/import.
type importAnswer struct {
	msync.ImportStats
	Rejects []importReject `json:"rejects"`
}

// postImport streams an NDJSON body of profile records or events into the
// store (?kind=profiles|events, default decided by the first line) and
// answers with the counts and the rejected lines.
func (a *admin) postImport(w http.ResponseWriter, r *http.Request) error {
	kind, err := msync.ParseImportKind(r.URL.Query().Get("kind"))
	if r.URL.Query().Get("kind") == "" {
		kind, err = msync.ImportAuto, nil
	}
	if err != nil {
		return apierror.Errorf(http.StatusBadRequest, apierror.CodeInvalidField, "kind", "%v", err)
	}
	ans := importAnswer{Rejects: []importReject{}}
	st, err := a.opts.Store.Import(r.Body, msync.ImportOptions{
		Kind: kind,
		Reject: func(line int, err error) {
			if len(ans.Rejects) >= maxImportRejects {
				return
			}
			rj := importReject{Line: line, Error: &apierror.Error{Code: apierror.CodeInvalidField, Message: err.Error()}}
			var ferr *msync.FieldError
			if errors.As(err, &ferr) {
				rj.Error = fieldAPIError(ferr)
			}
			ans.Rejects = append(ans.Rejects, rj)
		},
	})
	ans.ImportStats = st
	if err != nil {
		if errors.Is(err, msync.ErrItemTooLarge) {
			return apierror.Errorf(http.StatusRequestEntityTooLarge, apierror.CodeTooLarge, "", "%v", err)
		}
		if errors.Is(err, msync.ErrClosed) {
			return err
		}
		return apierror.Errorf(http.StatusBadRequest, apierror.CodeInvalidJSON, "", "after %d records: %v", st.Imported+st.Rejected, err)
	}
	note := fmt.Sprintf("import of %s: %d imported, %d rejected", st.Kind, st.Imported, st.Rejected)
	if st.Duplicates > 0 {
		note += fmt.Sprintf(", %d duplicates", st.Duplicates)
	}
	noteOf(r).summary = note
	writeJSON(w, http.StatusOK, ans)
	return nil
}
