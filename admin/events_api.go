package admin

import (
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/marquee-proxy/marquee/internal/apierror"

	msync "github.com/marquee-proxy/marquee/sync"
)

// Bounds of one POST /v1/events call.
const (
	maxEventsBody  = 8 << 20
	maxEventsBatch = 10000
	maxEventBytes  = 64 << 10
)

// eventResult is one event's line of the answer to POST /v1/events.
type eventResult struct {
	Index  int             `json:"index"`
	Line   int             `json:"line,omitempty"`
	ID     string          `json:"id,omitempty"`
	Status string          `json:"status"`
	Error  *apierror.Error `json:"error,omitempty"`
}

// eventsAnswer is the answer to POST /v1/events.
type eventsAnswer struct {
	Accepted   int           `json:"accepted"`
	Duplicates int           `json:"duplicates"`
	Rejected   int           `json:"rejected"`
	Results    []eventResult `json:"results"`
}

// postEvents takes a JSON array or NDJSON of events, applies the valid ones
// in one transaction and answers per event.
func (a *admin) postEvents(w http.ResponseWriter, r *http.Request) error {
	body := http.MaxBytesReader(w, r.Body, maxEventsBody)
	var (
		evs   []msync.Event
		items []eventResult
		pos   []int // index in items of each entry of evs
	)
	err := msync.ScanItems(body, maxEventBytes, func(index, line int, raw []byte) bool {
		if index >= maxEventsBatch {
			return false
		}
		ev, ferr := msync.DecodeEvent(raw)
		item := eventResult{Index: index, Line: line, ID: ev.ID}
		if ferr != nil {
			item.Status = msync.EventRejected.String()
			item.Error = fieldAPIError(ferr)
		} else {
			pos = append(pos, len(items))
			evs = append(evs, ev)
		}
		items = append(items, item)
		return true
	})
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return apierror.Errorf(http.StatusRequestEntityTooLarge, apierror.CodeTooLarge, "", "body larger than %d bytes", maxEventsBody)
	case errors.Is(err, msync.ErrItemTooLarge):
		return apierror.Errorf(http.StatusRequestEntityTooLarge, apierror.CodeTooLarge, "", "%v", err)
	case err != nil && !errors.Is(err, io.ErrUnexpectedEOF):
		return apierror.Errorf(http.StatusBadRequest, apierror.CodeInvalidJSON, "", "%v", err)
	case err != nil:
		return apierror.Errorf(http.StatusBadRequest, apierror.CodeInvalidJSON, "", "truncated body")
	}
	if len(items) == 0 {
		return apierror.Errorf(http.StatusBadRequest, apierror.CodeInvalidJSON, "", "no events: want a JSON array or NDJSON of event objects")
	}
	if len(items) >= maxEventsBatch {
		return apierror.Errorf(http.StatusRequestEntityTooLarge, apierror.CodeTooLarge, "", "more than %d events in one call", maxEventsBatch)
	}
	if len(evs) > 0 {
		for j, res := range a.opts.Store.ApplyEvents(evs) {
			item := &items[pos[j]]
			item.ID = evs[j].ID
			item.Status = res.Status.String()
			switch res.Status {
			case msync.EventFailed:
				return res.Err
			case msync.EventRejected:
				var ferr *msync.FieldError
				if errors.As(res.Err, &ferr) {
					item.Error = fieldAPIError(ferr)
				}
			}
		}
	}
	if p := a.opts.Personalizer; p != nil {
		for j := range evs {
			if items[pos[j]].Status == msync.EventAccepted.String() {
				p.CreditEvent(&evs[j])
			}
		}
	}
	ans := eventsAnswer{Results: items}
	for _, it := range items {
		switch it.Status {
		case "accepted":
			ans.Accepted++
		case "duplicate":
			ans.Duplicates++
		default:
			ans.Rejected++
		}
	}
	note := fmt.Sprintf("events: %d accepted, %d rejected", ans.Accepted, ans.Rejected)
	if ans.Duplicates > 0 {
		note += fmt.Sprintf(", %d duplicates", ans.Duplicates)
	}
	noteOf(r).summary = note
	writeJSON(w, http.StatusOK, ans)
	return nil
}

// fieldAPIError turns a store validation error into the common error shape.
func fieldAPIError(e *msync.FieldError) *apierror.Error {
	return &apierror.Error{Status: http.StatusBadRequest, Code: e.Code, Field: e.Field, Message: e.Reason}
}
