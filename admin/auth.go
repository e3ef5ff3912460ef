package admin

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"

	"github.com/marquee-proxy/marquee/config"
	"github.com/marquee-proxy/marquee/internal/apierror"
)

// Role is what an admin token may do.
type Role int

// Roles, from least to most.
const (
	// RoleNone is no role: the zero Role, which no token has.
	RoleNone Role = iota
	// RoleRead may call every route that changes nothing: the GET routes
	// and the POSTs that only compute (preview tokens, validation).
	RoleRead
	// RoleEdit may call every route.
	RoleEdit
)

// String returns "read" or "edit", and a placeholder for any other value.
func (r Role) String() string {
	switch r {
	case RoleRead:
		return "read"
	case RoleEdit:
		return "edit"
	}
	return fmt.Sprintf("Role(%d)", int(r))
}

// MarshalText makes a Role its name in JSON.
func (r Role) MarshalText() ([]byte, error) {
	if r != RoleRead && r != RoleEdit {
		return nil, fmt.Errorf("admin: no role %d", int(r))
	}
	return []byte(r.String()), nil
}

// ParseRole reads a role's name, as admin.tokens gives it.
func ParseRole(s string) (Role, error) {
	switch s {
	case "read":
		return RoleRead, nil
	case "edit":
		return RoleEdit, nil
	}
	return RoleNone, fmt.Errorf("admin: unknown role %q; want read or edit", s)
}

// Token is one named bearer token of the admin API.
type Token struct {
	// Name identifies the holder in the audit log and GET /v1/whoami.
	Name string
	// Token is the secret sent as "Authorization: Bearer TOKEN".
	Token string
	// Role is what the token may do.
	Role Role
}

// Names of callers that are not in Options.Tokens.
const (
	// TokenNameAdmin is the name of Options.Token.
	TokenNameAdmin = config.AdminTokenName
	// CallerAnonymous is every caller of an admin API without tokens,
	// which config validation allows only on a loopback listener.
	CallerAnonymous = config.AnonymousName
)

// Caller is who made an admin call, as GET /v1/whoami shows it.
type Caller struct {
	Name string `json:"name"`
	Role Role   `json:"role"`
}

// anonymous is the caller when no token is configured: whoever reaches
// a loopback listener may do everything, as before tokens had roles.
var anonymous = Caller{Name: CallerAnonymous, Role: RoleEdit}

// credential is a Token compiled for checking: the SHA-256 of the secret,
// so that every comparison is of 32 bytes and takes the same time
// whatever the length of the secret or of what was sent.
type credential struct {
	sum    [sha256.Size]byte
	caller Caller
}

// credentials compiles Options.Token and Options.Tokens, refusing what
// config validation refuses in a file.
func credentials(opts Options) ([]credential, error) {
	all := opts.Tokens
	if opts.Token != "" {
		all = append([]Token{{Name: TokenNameAdmin, Token: opts.Token, Role: RoleEdit}}, all...)
	}
	creds := make([]credential, 0, len(all))
	names := map[string]bool{}
	for i, t := range all {
		switch {
		case t.Name == "" || t.Name == CallerAnonymous:
			return nil, fmt.Errorf("admin: token %d: want a name other than %q", i, CallerAnonymous)
		case names[t.Name]:
			return nil, fmt.Errorf("admin: token name %q used twice", t.Name)
		case t.Token == "":
			return nil, fmt.Errorf("admin: token %q is empty", t.Name)
		case t.Role != RoleRead && t.Role != RoleEdit:
			return nil, fmt.Errorf("admin: token %q: no role %d", t.Name, int(t.Role))
		}
		names[t.Name] = true
		c := credential{sum: sha256.Sum256([]byte(t.Token)), caller: Caller{Name: t.Name, Role: t.Role}}
		for _, o := range creds {
			if o.sum == c.sum {
				return nil, fmt.Errorf("admin: tokens %q and %q are the same", o.caller.Name, t.Name)
			}
		}
		creds = append(creds, c)
	}
	return creds, nil
}

// errUnauthorized answers a call without a valid token.
var errUnauthorized = apierror.Errorf(http.StatusUnauthorized, apierror.CodeUnauthorized, "", "missing or wrong bearer token")

// identify returns who sent r: the holder of the token it carries,
// compared in constant time against every token so that the time taken
// tells nothing of which token nearly matched; or anonymous when no token
// is configured.
func (a *admin) identify(r *http.Request) (Caller, bool) {
	if len(a.creds) == 0 {
		return anonymous, true
	}
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	sum := sha256.Sum256([]byte(got))
	found := -1
	for i := range a.creds {
		eq := subtle.ConstantTimeCompare(sum[:], a.creds[i].sum[:])
		found = subtle.ConstantTimeSelect(eq, i, found)
	}
	if !ok || found < 0 {
		return Caller{}, false
	}
	return a.creds[found].caller, true
}

// handlerFunc is an admin route's handler: an error it returns becomes
// the common error response in serve.
type handlerFunc func(http.ResponseWriter, *http.Request) error

// guarded is a route's handler with the role its callers need.
type guarded struct {
	need   Role
	action string // the audit action of an edit route
	h      handlerFunc
}

// read declares a route that changes nothing: read and edit tokens may
// call it.
func (a *admin) read(h handlerFunc) guarded {
	return guarded{need: RoleRead, h: h}
}

// edit declares a route that changes something: only edit tokens may
// call it, and every call is recorded in the audit log as action.
func (a *admin) edit(action string, h handlerFunc) guarded {
	return guarded{need: RoleEdit, action: action, h: h}
}

// route is one registered route, for the tests that go over all of them.
type route struct {
	pattern string
	need    Role // RoleNone: no token needed
	action  string
}

// routes registers the admin API's routes. Every route but the health
// checks and the dashboard page goes through Handle, which takes only a
// guarded handler: a route cannot be added without saying who may call it.
type routes struct {
	a    *admin
	mux  *http.ServeMux
	list []route
}

// Handle registers g for pattern behind authentication and g's role.
func (rs *routes) Handle(pattern string, g guarded) {
	rs.list = append(rs.list, route{pattern: pattern, need: g.need, action: g.action})
	rs.mux.Handle(pattern, rs.a.serve(g))
}

// public registers h for pattern with no authentication at all.
func (rs *routes) public(pattern string, h http.HandlerFunc) {
	rs.list = append(rs.list, route{pattern: pattern})
	rs.mux.HandleFunc(pattern, h)
}

type callerKey struct{}

// callerOf returns who made r, once serve has identified them.
func callerOf(r *http.Request) Caller {
	c, _ := r.Context().Value(callerKey{}).(Caller)
	return c
}

// serve checks the caller's token and role, turns the handler's error
// into the common error response (the one place admin errors become
// statuses) and records edit routes' calls in the audit log.
func (a *admin) serve(g guarded) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, ok := a.identify(r)
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="marquee"`)
			apierror.Write(w, errUnauthorized)
			return
		}
		if c == anonymous {
			if err := browserGuard(r); err != nil {
				apierror.Write(w, err)
				return
			}
		}
		r = r.WithContext(context.WithValue(r.Context(), callerKey{}, c))
		if g.action != "" {
			a.audited(g, c, w, r)
			return
		}
		a.call(g, c, w, r)
	})
}

// browserGuard refuses what a web page could make a browser send to an
// admin API without tokens. Such an API answers anyone who reaches the
// loopback listener, and a browser on the machine does: a page from
// anywhere may POST to it without a CORS preflight (a form, or fetch with
// a "simple" content type such as text/plain), and a page whose name
// rebinds to 127.0.0.1 may even read its answers. With a token the
// Authorization header forces a preflight, which fails, so only the
// anonymous caller is checked. Curl and scripts send neither Origin nor
// Sec-Fetch-Site and name the listener in Host, so they pass; so does the
// console, which calls its own origin.
func browserGuard(r *http.Request) error {
	// A rebinding page reaches 127.0.0.1 under its own name, which the
	// browser sends as Host; a loopback listener is only ever asked for
	// by a loopback address or localhost.
	if !loopbackHost(r.Host) {
		return apierror.Errorf(http.StatusForbidden, apierror.CodeForbidden, "",
			"without an admin token, the admin API answers only requests for a loopback address or localhost, not Host %q (a guard against DNS rebinding); configure admin.token to reach it by another name", r.Host)
	}
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return nil
	}
	// Sec-Fetch-Site is what the browser itself says of the request's
	// initiator; "none" is the user's own navigation (a bookmark, the
	// address bar).
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
		return apierror.Errorf(http.StatusForbidden, apierror.CodeForbidden, "",
			"without an admin token, the admin API refuses a %s from another site (Sec-Fetch-Site: %s), which any web page could send", r.Method, site)
	}
	// Older browsers send Origin without Sec-Fetch-Site. "null" (a
	// sandboxed frame, a data: URL, some form posts) names no host and is
	// refused like any other.
	if origin := r.Header.Get("Origin"); origin != "" && !sameHost(origin, r.Host) {
		return apierror.Errorf(http.StatusForbidden, apierror.CodeForbidden, "",
			"without an admin token, the admin API refuses a %s from origin %q, which is not this listener (%s)", r.Method, origin, r.Host)
	}
	return nil
}

// loopbackHost reports whether host, a Host header with or without a
// port, names localhost or a loopback address.
func loopbackHost(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	} else {
		// No port: an IPv6 literal keeps its brackets.
		host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback()
}

// sameHost reports whether origin, an Origin header, names host, the
// request's Host, with the same port. Both are compared as the browser
// wrote them: the console's page and its calls come from one URL.
func sameHost(origin, host string) bool {
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return false
	}
	return strings.EqualFold(withPort(u.Host, u.Scheme), withPort(host, u.Scheme))
}

// withPort returns host with its scheme's default port when it has none,
// so that http://localhost and Host localhost:80 compare equal.
func withPort(host, scheme string) string {
	if _, _, err := net.SplitHostPort(host); err == nil {
		return host
	}
	port := "80"
	if scheme == "https" {
		port = "443"
	}
	return net.JoinHostPort(strings.TrimSuffix(strings.TrimPrefix(host, "["), "]"), port)
}

// call runs g for c if c's role allows it, and answers its error.
func (a *admin) call(g guarded, c Caller, w http.ResponseWriter, r *http.Request) error {
	var err error
	if c.Role < g.need {
		err = apierror.Errorf(http.StatusForbidden, apierror.CodeForbidden, "", "token %q has role %s; this call needs an %s token", c.Name, c.Role, g.need)
	} else {
		err = g.h(w, r)
	}
	if err != nil {
		var ae *apierror.Error
		if !errors.As(err, &ae) {
			a.log.Error("admin: call failed", "method", r.Method, "path", r.URL.Path, "err", err)
		}
		apierror.Write(w, err)
	}
	return err
}

// whoami answers GET /v1/whoami: the caller's name and role, so that a
// client can offer only what the token allows.
func (a *admin) whoami(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, callerOf(r))
	return nil
}
