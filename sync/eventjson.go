package sync

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// ErrItemTooLarge is returned by ScanItems for an NDJSON line or array item
// longer than its bound.
var ErrItemTooLarge = errors.New("sync: item too large")

// ScanItems reads a JSON array of objects or NDJSON (one object per line)
// from r and calls fn with each item's raw bytes, its 0-based index and, for
// NDJSON, its 1-based line number (0 for array items). Blank lines are
// skipped. raw is valid only during the call. fn returning false stops the
// scan. An array that is not well formed stops it with an error; a bad
// NDJSON line is passed to fn like any other, for it to reject alone.
func ScanItems(r io.Reader, maxItem int, fn func(index, line int, raw []byte) bool) error {
	br := bufio.NewReaderSize(r, 64<<10)
	first, err := peekNonSpace(br)
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil
		}
		return err
	}
	if first == '[' {
		return scanArray(br, maxItem, fn)
	}
	index, line := 0, 0
	var long []byte
	for {
		chunk, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			if len(long)+len(chunk) > maxItem {
				return fmt.Errorf("%w: line %d longer than %d bytes", ErrItemTooLarge, line+1, maxItem)
			}
			long = append(long, chunk...)
			continue
		}
		if len(long) > 0 {
			long = append(long, chunk...)
			chunk = long
		}
		if len(chunk) > 0 {
			line++
			if len(chunk) > maxItem+2 {
				return fmt.Errorf("%w: line %d longer than %d bytes", ErrItemTooLarge, line, maxItem)
			}
			if item := bytes.TrimSpace(chunk); len(item) > 0 {
				if !fn(index, line, item) {
					return nil
				}
				index++
			}
		}
		long = long[:0]
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
	}
}

func peekNonSpace(br *bufio.Reader) (byte, error) {
	for {
		b, err := br.ReadByte()
		if err != nil {
			return 0, err
		}
		switch b {
		case ' ', '\t', '\r', '\n':
			continue
		}
		return b, br.UnreadByte()
	}
}

func scanArray(br *bufio.Reader, maxItem int, fn func(index, line int, raw []byte) bool) error {
	dec := json.NewDecoder(io.LimitReader(br, 1<<40))
	if _, err := dec.Token(); err != nil {
		return fmt.Errorf("sync: malformed JSON array: %w", err)
	}
	index := 0
	var raw json.RawMessage
	for dec.More() {
		raw = raw[:0]
		if err := dec.Decode(&raw); err != nil {
			return fmt.Errorf("sync: malformed JSON array at item %d: %w", index, err)
		}
		if len(raw) > maxItem {
			return fmt.Errorf("%w: item %d longer than %d bytes", ErrItemTooLarge, index, maxItem)
		}
		if !fn(index, 0, raw) {
			return nil
		}
		index++
	}
	if _, err := dec.Token(); err != nil {
		return fmt.Errorf("sync: malformed JSON array: %w", err)
	}
	if dec.More() {
		return errors.New("sync: malformed JSON array: data after the closing bracket")
	}
	return nil
}

// wireEvent is an event as JSON carries it, before validation.
type wireEvent struct {
	ID       string         `json:"id"`
	Type     string         `json:"type"`
	Visitor  string         `json:"visitor"`
	Customer string         `json:"customer"`
	TS       string         `json:"ts"`
	Category string         `json:"category"`
	Product  string         `json:"product"`
	Value    *float64       `json:"value"`
	Currency string         `json:"currency"`
	Props    map[string]any `json:"props"`
	Path     string         `json:"path"`
}

// DecodeEvent decodes one event object strictly (unknown fields and wrong
// types are errors, naming the field) without validating its values; see
// EventRules.Normalize.
func DecodeEvent(raw []byte) (Event, *FieldError) {
	var w wireEvent
	if err := decodeStrictJSON(raw, &w); err != nil {
		return Event{}, err
	}
	e := Event{
		ID: w.ID, Visitor: w.Visitor, Customer: w.Customer,
		Category: w.Category, Product: w.Product, Currency: w.Currency, Props: w.Props,
		Path: w.Path,
	}
	if w.Value != nil {
		e.Value = *w.Value
	}
	if e.Type = ParseEventType(w.Type); e.Type == EventInvalid {
		return Event{}, fieldErr("type", "%q: want one of view, add_to_cart, remove_from_cart, purchase, custom", truncate(w.Type))
	}
	if w.TS != "" {
		ts, err := time.Parse(time.RFC3339Nano, w.TS)
		if err != nil {
			return Event{}, fieldErr("ts", "%q: want an RFC 3339 time such as 2026-01-02T15:04:05Z", truncate(w.TS))
		}
		// A zero time given explicitly (0001-01-01T00:00:00Z, the zero
		// value of many encoders) would otherwise read as "now".
		if ts.Before(minEventTime) {
			return Event{}, fieldErr("ts", "%q is before 1970: not a plausible event time", truncate(w.TS))
		}
		e.TS = ts
	}
	return e, nil
}

// decodeStrictJSON decodes one JSON object into v, refusing unknown fields,
// wrong types and trailing data.
func decodeStrictJSON(raw []byte, v any) *FieldError {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		if dec.More() {
			return &FieldError{Code: CodeInvalidJSON, Reason: "unexpected data after the JSON object"}
		}
		if _, terr := dec.Token(); !errors.Is(terr, io.EOF) {
			return &FieldError{Code: CodeInvalidJSON, Reason: "unexpected data after the JSON object"}
		}
		return nil
	}
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return &FieldError{Code: CodeInvalidJSON, Reason: fmt.Sprintf("malformed JSON at byte %d", syn.Offset)}
	case errors.As(err, &typ):
		return fieldErr(typ.Field, "wrong type: got JSON %s", typ.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return &FieldError{Field: name, Code: CodeUnknownField, Reason: fmt.Sprintf("unknown field %q", truncate(name))}
	}
	return &FieldError{Code: CodeInvalidJSON, Reason: "malformed JSON: " + truncate(err.Error())}
}

func truncate(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
