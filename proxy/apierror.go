package proxy

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// APIError is the one error shape of every admin and public JSON endpoint:
//
//	{"error": {"code": "invalid_field", "field": "attrs.tier", "message": "…"}}
type APIError struct {
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
}

func (e *APIError) Error() string {
	if e.Field != "" {
		return e.Field + ": " + e.Message
	}
	return e.Message
}

// Error codes of APIError.
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
)

func apiErrorf(status int, code, field, format string, args ...any) *APIError {
	return &APIError{Status: status, Code: code, Field: field, Message: fmt.Sprintf(format, args...)}
}

// writeAPIError writes err in the common shape; an error that is not an
// *APIError is a 500 whose details stay in the log.
func writeAPIError(w http.ResponseWriter, err error) {
	var ae *APIError
	if !errors.As(err, &ae) {
		ae = &APIError{Status: http.StatusInternalServerError, Code: CodeInternal, Message: "internal error"}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(ae.Status)
	json.NewEncoder(w).Encode(struct {
		Error *APIError `json:"error"`
	}{ae})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

// decodeStrict decodes one JSON value from data into v, refusing unknown
// fields, wrong types and trailing data, and names the field at fault.
func decodeStrict(data []byte, v any) error {
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if dec.More() {
		return apiErrorf(http.StatusBadRequest, CodeInvalidJSON, "", "unexpected data after the JSON value")
	}
	return nil
}

func jsonError(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return apiErrorf(http.StatusBadRequest, CodeInvalidJSON, "", "malformed JSON at byte %d: %v", syn.Offset, syn)
	case errors.As(err, &typ):
		field := typ.Field
		return apiErrorf(http.StatusBadRequest, CodeInvalidField, field, "want %s, got JSON %s", jsonTypeName(typ.Type.Kind().String()), typ.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return apiErrorf(http.StatusBadRequest, CodeUnknownField, name, "unknown field %q", name)
	case errors.Is(err, errEmptyBody) || err.Error() == "EOF":
		return apiErrorf(http.StatusBadRequest, CodeInvalidJSON, "", "empty body: want a JSON object")
	case strings.Contains(err.Error(), "unexpected EOF"):
		return apiErrorf(http.StatusBadRequest, CodeInvalidJSON, "", "truncated JSON")
	}
	var ae *APIError
	if errors.As(err, &ae) {
		return ae
	}
	return apiErrorf(http.StatusBadRequest, CodeInvalidJSON, "", "%v", err)
}

var errEmptyBody = errors.New("empty body")

func jsonTypeName(kind string) string {
	switch kind {
	case "map", "struct":
		return "an object"
	case "slice", "array":
		return "an array"
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "float64", "float32", "int", "int64", "int32":
		return "a number"
	}
	return kind
}
