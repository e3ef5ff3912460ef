// Package apierror owns the one error shape of every JSON endpoint marquee
// serves, on the admin listener and on the public one alike:
//
//	{"error": {"code": "invalid_field", "field": "attrs.tier", "message": "…"}}
//
// Scripts match on Code and Field, so both are part of the API.
package apierror

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"syscall"
)

// Error is one failed request, in the shape above.
type Error struct {
	// Status is the HTTP status; it is not part of the JSON.
	Status int `json:"-"`
	// Code is a stable machine-readable reason, e.g. "invalid_field".
	Code string `json:"code"`
	// Field names the offending field of the request body, when there is one.
	Field string `json:"field,omitempty"`
	// Message says what is wrong, for people.
	Message string `json:"message"`
	// Details lists every problem when there are several, e.g. each
	// located error of a rejected configuration.
	Details []string `json:"details,omitempty"`
	// Problems locates each problem of a rejected document (a decisions
	// document, say), for a client that maps them onto the fields of a
	// form; Details keeps them as text for scripts written before.
	Problems []Problem `json:"problems,omitempty"`
}

// Problem is one located problem of a document.
type Problem struct {
	// Line is the 1-based line of the document it is on; 0, left out of
	// the JSON, when unknown.
	Line int `json:"line,omitempty"`
	// Field is the path of the offending field, e.g. "campaigns[2].when";
	// empty for the document as a whole.
	Field string `json:"field"`
	// Message says what is wrong, without the line and field.
	Message string `json:"message"`
}

func (e *Error) Error() string {
	if e.Field != "" {
		return e.Field + ": " + e.Message
	}
	return e.Message
}

// Codes of Error.
const (
	CodeInvalidJSON      = "invalid_json"
	CodeUnknownField     = "unknown_field"
	CodeInvalidField     = "invalid_field"
	CodeInvalidID        = "invalid_id"
	CodeNotFound         = "not_found"
	CodeUnauthorized     = "unauthorized"
	CodeMethodNotAllowed = "method_not_allowed"
	CodeTooLarge         = "too_large"
	CodeInternal         = "internal"
	CodeInvalidConfig    = "invalid_config"
	// CodeForbidden (403): a valid token whose role does not allow the
	// call, e.g. a read token on a route that changes something.
	CodeForbidden = "forbidden"
	// CodeInsufficientStorage (507): a write failed because the disk is
	// full (ENOSPC, or EDQUOT for a quota); nothing was stored.
	CodeInsufficientStorage = "insufficient_storage"
	// CodeCacheOff (404): a cache route on a node whose edge cache is
	// off.
	CodeCacheOff = "cache_off"
)

// Errorf returns an Error with a formatted message.
func Errorf(status int, code, field, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Field: field, Message: fmt.Sprintf(format, args...)}
}

// internal stands for every error that is not an *Error: its details belong
// in the log, not in an answer to whoever sent the request.
var internal = &Error{Status: http.StatusInternalServerError, Code: CodeInternal, Message: "internal error"}

// insufficientStorage answers a write that failed for want of disk space:
// unlike other internal errors the client can tell what happened, and
// retry later.
var insufficientStorage = &Error{Status: http.StatusInsufficientStorage, Code: CodeInsufficientStorage, Message: "the disk is full: nothing was stored"}

// Encode returns the status and JSON body answering err.
func Encode(err error) (status int, body []byte) {
	var e *Error
	switch {
	case errors.As(err, &e):
	case errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT):
		e = insufficientStorage
	default:
		e = internal
	}
	body, _ = json.Marshal(struct {
		Error *Error `json:"error"`
	}{e})
	return e.Status, append(body, '\n')
}

// Write answers err on w.
func Write(w http.ResponseWriter, err error) {
	status, body := Encode(err)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	w.Write(body)
}
