package admin

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
)

// dashboardPage is the operator dashboard: one document with its style and
// script inline, so it needs no request besides the API calls it makes and
// works with no network beyond the admin listener.
//
//go:embed dashboard/index.html
var dashboardPage []byte

// dashboardCSP allows exactly the inline style and script of dashboardPage,
// by hash, and network access only to the admin listener itself: a value
// from the API that did end up as markup could still run nothing.
var dashboardCSP = dashboardPolicy(dashboardPage)

// dashboardPolicy returns the Content-Security-Policy of page.
func dashboardPolicy(page []byte) string {
	return "default-src 'none'" +
		"; script-src " + inlineHashes(page, "<script>", "</script>") +
		"; style-src " + inlineHashes(page, "<style>", "</style>") +
		"; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
}

// inlineHashes returns the CSP source list ('sha256-…' each) of the text
// between every open and close tag of page, or 'none' when there is none.
// CSP hashes cover the element's text exactly as served (CSP3 §8.4).
func inlineHashes(page []byte, open, close string) string {
	var srcs []string
	for rest := page; ; {
		_, after, ok := bytes.Cut(rest, []byte(open))
		if !ok {
			break
		}
		body, tail, ok := bytes.Cut(after, []byte(close))
		if !ok {
			break
		}
		sum := sha256.Sum256(body)
		srcs = append(srcs, "'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"'")
		rest = tail
	}
	if len(srcs) == 0 {
		return "'none'"
	}
	return strings.Join(srcs, " ")
}

// serveDashboard answers GET and HEAD / with the dashboard.
//
// It needs no token, unlike the API: the page is the same static document
// for everyone and holds no data. Everything it shows comes from API calls
// the page makes with the operator's token, so serving it openly discloses
// nothing, and it lets the page ask for the token when a call answers 401.
func serveDashboard(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(dashboardPage)))
	// Tiny and served from memory: never caching it means a page from an
	// older binary never talks to a newer API.
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", dashboardCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	// frame-ancestors in the policy says the same to current browsers.
	h.Set("X-Frame-Options", "DENY")
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(dashboardPage)
	}
}
