package cache

import (
	"bytes"
	"net/http"
	"slices"
)

// Refresh applies a 304 answer to a revalidation of old (see Validated):
// the refreshed entry, with old's bodies and value, replaces old. It
// returns the refreshed entry, or nil when the updated response may no
// longer be stored, in which case old is removed. When req has
// Cache-Control no-store, the refreshed entry answers it but is not
// stored, and old stays (RFC 9111 §5.2.1.5).
func (c *Cache) Refresh(old *Entry, req RequestHeader, notModified *Response) *Entry {
	e := c.Validated(old, req, notModified)
	switch {
	case e == nil:
		c.Remove(old)
	case req == nil || !requestNoStore(req):
		c.Put(e)
	}
	return e
}

// Validated returns old updated by a 304 answer to its revalidation (RFC
// 9111 §4.3.4), without storing it: the stored fields are updated with
// those of notModified (but Content-Length), and its times replace old's.
// A 304 without Date gets one of its receipt (RFC 9110 §6.6.1): old's Date
// would make the refreshed response as old as old. It returns nil when the
// updated response may not be stored. Called alone, for a 304 that must
// not be stored (one carrying a field about one visitor), it answers that
// one request and leaves old as it is.
func (c *Cache) Validated(old *Entry, req RequestHeader, notModified *Response) *Entry {
	fields := make([]Field, 0, len(old.fields)+len(notModified.Fields)+1)
	noDate := !hasField(notModified.Fields, strDate)
	for _, f := range old.fields {
		if !hasField(notModified.Fields, f.Name) && !(noDate && bytes.EqualFold(f.Name, strDate)) {
			fields = append(fields, f)
		}
	}
	for _, f := range notModified.Fields {
		if !bytes.EqualFold(f.Name, strContentLength) {
			fields = append(fields, f)
		}
	}
	if noDate {
		fields = append(fields, Field{Name: strDate, Value: notModified.ResponseTime.UTC().AppendFormat(nil, http.TimeFormat)})
	}
	r := Response{Status: old.status, Fields: fields, RequestTime: notModified.RequestTime, ResponseTime: notModified.ResponseTime}
	p, why := decide(req, &r, c.opts.StaleIfError)
	if len(p.vary) == 0 && codingVaryOnly(old.vary) {
		p.vary = old.vary // stored in identity as a coding variant (admit)
	}
	if why != Storable || !slices.Equal(p.vary, old.vary) {
		return nil
	}
	e := newEntry(old.url, old.pathAt, old.key, &r, p)
	e.body, e.dec = old.body, old.dec
	if len(e.tags) == 0 {
		e.tags = old.tags
	}
	e.size = e.weight()
	if b := old.value.Load(); b != nil {
		e.value.Store(b)
	}
	return e
}

func hasField(fs []Field, name []byte) bool {
	for _, f := range fs {
		if bytes.EqualFold(f.Name, name) {
			return true
		}
	}
	return false
}
