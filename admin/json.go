package admin

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/marquee-proxy/marquee/internal/apierror"
)

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
		return apierror.Errorf(http.StatusBadRequest, apierror.CodeInvalidJSON, "", "unexpected data after the JSON value")
	}
	return nil
}

func jsonError(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return apierror.Errorf(http.StatusBadRequest, apierror.CodeInvalidJSON, "", "malformed JSON at byte %d: %v", syn.Offset, syn)
	case errors.As(err, &typ):
		field := typ.Field
		return apierror.Errorf(http.StatusBadRequest, apierror.CodeInvalidField, field, "want %s, got JSON %s", jsonTypeName(typ.Type.Kind().String()), typ.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return apierror.Errorf(http.StatusBadRequest, apierror.CodeUnknownField, name, "unknown field %q", name)
	case errors.Is(err, errEmptyBody) || err.Error() == "EOF":
		return apierror.Errorf(http.StatusBadRequest, apierror.CodeInvalidJSON, "", "empty body: want a JSON object")
	case strings.Contains(err.Error(), "unexpected EOF"):
		return apierror.Errorf(http.StatusBadRequest, apierror.CodeInvalidJSON, "", "truncated JSON")
	}
	var ae *apierror.Error
	if errors.As(err, &ae) {
		return ae
	}
	return apierror.Errorf(http.StatusBadRequest, apierror.CodeInvalidJSON, "", "%v", err)
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
