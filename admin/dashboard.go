package admin

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"time"
)

// dashboardFiles are the operator console: its page, its own script and
// style sheet, and the vendored uPlot charting library (see
// dashboard/README.md). Built into the binary, so the console needs no
// network beyond the admin listener.
//
//go:embed dashboard/index.html dashboard/console.js dashboard/console.css dashboard/uPlot.iife.min.js dashboard/uPlot.min.css
var dashboardFiles embed.FS

// dashboardPage is the console's page: markup only, its code and style
// come from /assets/.
var dashboardPage = mustRead("dashboard/index.html")

// asset is one static file of the console as served under /assets/.
type asset struct {
	body        []byte
	contentType string
	// etag is a strong validator derived from the content, so a browser
	// revalidates with a conditional request and downloads a file again
	// only when a new binary changed it.
	etag string
}

// assets are the files under /assets/, by name.
var assets = func() map[string]asset {
	types := map[string]string{".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}
	out := map[string]asset{}
	for _, name := range []string{"console.js", "console.css", "uPlot.iife.min.js", "uPlot.min.css"} {
		body := mustRead("dashboard/" + name)
		sum := sha256.Sum256(body)
		out[name] = asset{body: body, contentType: types[path.Ext(name)], etag: `"` + hex.EncodeToString(sum[:12]) + `"`}
	}
	return out
}()

func mustRead(name string) []byte {
	b, err := dashboardFiles.ReadFile(name)
	if err != nil {
		panic(err) // the embed directive names every file read here
	}
	return b
}

// dashboardPolicy returns the console's Content-Security-Policy: code and
// style only from the admin listener's own files (no inline code, so a value
// from the API that did end up as markup could still run nothing), network
// access only to the admin listener, and frames only of the listener's
// offer previews and of previewOrigin, the shop as browsers reach the proxy
// ("" allows none).
func dashboardPolicy(previewOrigin string) string {
	frames := "'self'"
	if previewOrigin != "" {
		frames += " " + previewOrigin
	}
	return "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:" +
		"; frame-src " + frames + "; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
}

// previewOrigin returns the origin (scheme://host[:port]) of the shop's
// address for the page preview, or an error naming what is wrong with it.
// "" gives "".
func previewOrigin(raw string) (string, error) {
	if raw == "" {
		return "", nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("admin: preview URL: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return "", fmt.Errorf("admin: preview URL %q: want an absolute http or https URL without credentials", raw)
	}
	return u.Scheme + "://" + u.Host, nil
}

// setPageHeaders sets what every console response carries.
func setPageHeaders(h http.Header) {
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	// frame-ancestors in the policy says the same to current browsers.
	h.Set("X-Frame-Options", "DENY")
}

// serveDashboard answers GET and HEAD / with the console's page.
//
// It needs no token, unlike the API: the page is the same static document
// for everyone and holds no data. Everything it shows comes from API calls
// the page makes with the operator's token, so serving it openly discloses
// nothing, and it lets the page ask for the token when a call answers 401.
func (a *admin) serveDashboard(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(dashboardPage)))
	// Tiny and served from memory: never caching it means a page from an
	// older binary never talks to a newer API.
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", a.csp)
	setPageHeaders(h)
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(dashboardPage)
	}
}

// serveAsset answers GET and HEAD /assets/{name} with one of the console's
// static files, without a token for the same reason as the page: they are
// the same for everyone and hold no data.
func serveAsset(w http.ResponseWriter, r *http.Request) {
	f, ok := assets[r.PathValue("name")]
	if !ok {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", f.contentType)
	h.Set("ETag", f.etag)
	// Revalidated on every use: the page is never cached, and an asset
	// kept from an older binary must not run against a newer page. The
	// ETag makes that a 304 without a body.
	h.Set("Cache-Control", "no-cache")
	setPageHeaders(h)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(f.body))
}
