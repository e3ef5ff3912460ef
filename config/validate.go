package config

import (
	"encoding/base64"
	"net"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/marquee-proxy/marquee/internal/geo"
	"github.com/marquee-proxy/marquee/internal/httpfield"
)

// MinKeyBytes is the shortest accepted cookie-signing key.
const MinKeyBytes = 16

var (
	identRE    = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	idRE       = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)
	slotModes  = []string{"inner", "outer", "before", "after", "prepend", "append"}
	logLevels  = []string{"debug", "info", "warn", "error"}
	logFormats = []string{"text", "json"}
	presets    = []string{"lan", "wan", "local"}
)

// validate checks what decoding cannot: addresses, URLs, keys, names and
// references. Expressions and templates are checked by the packages that
// compile them.
func (c *Config) validate() Errors {
	var errs Errors
	add := func(path, format string, args ...any) { errs = append(errs, c.Errorf(path, format, args...)) }

	if err := checkHostPort(c.Listen); c.Listen != "" && err != "" {
		add("listen", "%q: %s", c.Listen, err)
	}
	if len(c.Origin) == 0 {
		add("origin", "required: the shop's base URL, e.g. http://127.0.0.1:8080")
	}
	for i, o := range c.Origin {
		path := "origin"
		if len(c.Origin) > 1 {
			path += "[" + strconv.Itoa(i) + "]"
		}
		if err := checkOrigin(o); err != "" {
			add(path, "%q: %s", o, err)
		}
	}
	for i, p := range c.TrustedProxies {
		if _, err := ParsePrefix(p); err != nil {
			add("trusted_proxies["+strconv.Itoa(i)+"]", "%q: want an IP address or CIDR range", p)
		}
	}

	if c.Admin.Listen != "off" {
		if err := checkHostPort(c.Admin.Listen); err != "" {
			add("admin.listen", "%q: %s", c.Admin.Listen, err)
		} else if c.Admin.Token == "" && len(c.Admin.Tokens) == 0 && !isLoopback(c.Admin.Listen) {
			add("admin.token", "required when admin.listen %q is not a loopback address", c.Admin.Listen)
		}
	}
	errs = append(errs, c.validateAdminTokens()...)

	if c.Admin.PreviewURL != "" {
		if err := checkPreviewURL(c.Admin.PreviewURL); err != "" {
			add("admin.preview_url", "%q: %s", c.Admin.PreviewURL, err)
		}
	}

	if _, err := time.LoadLocation(c.TimeZone); err != nil {
		add("time_zone", "unknown time zone %q", c.TimeZone)
	}
	if c.Geo.Header != "" && !validCookieName(c.Geo.Header) {
		add("geo.header", "%q is not a header name", c.Geo.Header)
	}
	if c.Geo.Database != "" {
		if err := checkGeoDatabase(c.GeoDatabasePath()); err != nil {
			add("geo.database", "%v", err)
		}
	}

	if !validCookieName(c.Identity.Cookie) {
		add("identity.cookie", "%q is not a valid cookie name", c.Identity.Cookie)
	}
	for i, k := range c.Identity.Keys {
		b, err := DecodeKey(k)
		switch {
		case err != nil:
			add("identity.keys["+strconv.Itoa(i)+"]", "not base64: use `marquee keygen` to make a key")
		case len(b) < MinKeyBytes:
			add("identity.keys["+strconv.Itoa(i)+"]", "key is %d bytes, want at least %d", len(b), MinKeyBytes)
		}
	}
	if c.Identity.MaxAge < 0 {
		add("identity.max_age", "%s: must not be negative", c.Identity.MaxAge)
	}

	l := c.Limits
	for _, d := range []struct {
		path string
		v    Duration
	}{
		{"limits.header_timeout", l.HeaderTimeout},
		{"limits.read_timeout", l.ReadTimeout}, {"limits.write_timeout", l.WriteTimeout},
		{"limits.idle_timeout", l.IdleTimeout}, {"limits.origin_timeout", l.OriginTimeout},
	} {
		if d.v < 0 {
			add(d.path, "%s: must not be negative", d.v)
		}
	}
	for _, s := range []struct {
		path string
		v    ByteSize
	}{
		{"limits.max_header_bytes", l.MaxHeaderBytes}, {"limits.max_request_body", l.MaxRequestBody},
		{"limits.max_response_body", l.MaxResponseBody}, {"limits.max_rewrite_body", l.MaxRewriteBody},
	} {
		if s.v < 0 {
			add(s.path, "%d: must not be negative", s.v)
		}
	}
	if l.MaxHeaderBytes > 0 && l.MaxHeaderBytes < 1024 {
		add("limits.max_header_bytes", "%d: want at least 1024", l.MaxHeaderBytes)
	}
	if l.MaxConns < 0 {
		add("limits.max_conns", "%d: must not be negative", l.MaxConns)
	}
	if l.MaxConnsPerIP < -1 {
		add("limits.max_conns_per_ip", "%d: want a positive bound, or -1 for none", l.MaxConnsPerIP)
	}

	slotNames := map[string]bool{}
	for i, s := range c.Slots {
		p := "slots[" + strconv.Itoa(i) + "]"
		if s.Name == "" {
			add(p+".name", "required")
		} else if slotNames[s.Name] {
			add(p+".name", "slot %q defined twice", s.Name)
		}
		slotNames[s.Name] = true
		if strings.TrimSpace(s.Selector) == "" {
			add(p+".selector", "required: a CSS selector such as \"#hero\"")
		}
		if !slices.Contains(slotModes, s.Mode) {
			add(p+".mode", "unknown mode %q, want one of %s", s.Mode, strings.Join(slotModes, ", "))
		}
	}

	for _, s := range c.Segments {
		p := "segments." + s.Name
		if !identRE.MatchString(s.Name) {
			add(p, "segment name %q: use letters, digits and _ only, starting with a letter", s.Name)
		}
		if strings.TrimSpace(s.When) == "" {
			add(p, "empty expression")
		}
	}

	ids := map[string]bool{}
	for i, cp := range c.Campaigns {
		p := "campaigns[" + strconv.Itoa(i) + "]"
		switch {
		case cp.ID == "":
			add(p+".id", "required")
		case !idRE.MatchString(cp.ID):
			add(p+".id", "%q: use letters, digits, '_', '.' and '-' only", cp.ID)
		case ids[cp.ID]:
			add(p+".id", "campaign %q defined twice", cp.ID)
		}
		ids[cp.ID] = true
		if cp.Slot == "" {
			add(p+".slot", "required: the name of the slot this campaign fills")
		}
		if strings.TrimSpace(cp.Template) == "" && !allVariantsHaveTemplates(cp.Experiment) {
			add(p+".template", "required: the offer's HTML template")
		}
	}

	errs = append(errs, c.validateDecisions()...)
	errs = append(errs, c.validateIngest()...)

	if !slices.Contains(logLevels, c.Log.Level) {
		add("log.level", "unknown level %q, want one of %s", c.Log.Level, strings.Join(logLevels, ", "))
	}
	if !slices.Contains(logFormats, c.Log.Format) {
		add("log.format", "unknown format %q, want one of %s", c.Log.Format, strings.Join(logFormats, ", "))
	}

	if cl := c.Cluster; cl != nil {
		if err := checkHostPort(cl.Bind); cl.Bind != "" && err != "" {
			add("cluster.bind", "%q: %s", cl.Bind, err)
		}
		if cl.Advertise != "" {
			if err := checkHostPort(cl.Advertise); err != "" {
				add("cluster.advertise", "%q: %s", cl.Advertise, err)
			}
		}
		for i, j := range cl.Join {
			if _, _, err := net.SplitHostPort(j); err != nil {
				add("cluster.join["+strconv.Itoa(i)+"]", "%q: want host:port", j)
			}
		}
		for i, k := range cl.SecretKeys {
			b, err := DecodeKey(k)
			if err != nil || (len(b) != 16 && len(b) != 24 && len(b) != 32) {
				add("cluster.secret_keys["+strconv.Itoa(i)+"]", "want base64 of a 16-, 24- or 32-byte AES key")
			}
		}
		if cl.Preset != "" && !slices.Contains(presets, cl.Preset) {
			add("cluster.preset", "unknown preset %q, want one of %s", cl.Preset, strings.Join(presets, ", "))
		}
		if cl.PurgeRetention < 0 {
			add("cluster.purge_retention", "%s: must not be negative", cl.PurgeRetention)
		}
	}
	errs = append(errs, c.validateCache()...)
	errs = append(errs, c.validateExport()...)
	return errs
}

// minCacheSize is the smallest cache.max_size accepted: below it a
// single page would not fit.
const minCacheSize = 1 * MiB

// validateCache checks the cache section, when there is one.
func (c *Config) validateCache() Errors {
	cc := c.Cache
	if cc == nil {
		return nil
	}
	var errs Errors
	add := func(path, format string, args ...any) { errs = append(errs, c.Errorf(path, format, args...)) }
	switch {
	case cc.MaxSize == 0:
		add("cache.max_size", "required with a cache section: the memory the cache may hold, e.g. 256MiB")
	case cc.MaxSize < minCacheSize:
		add("cache.max_size", "%d: want at least 1MiB", cc.MaxSize)
	}
	if cc.MaxObject.Bytes > 0 && cc.MaxSize > 0 && cc.MaxObject.Bytes > cc.MaxSize {
		add("cache.max_object", "%d: larger than cache.max_size %d", cc.MaxObject.Bytes, cc.MaxSize)
	}
	if cc.StaleIfError < 0 {
		add("cache.stale_if_error", "%s: must not be negative", cc.StaleIfError)
	}
	for i, p := range cc.IgnoreQuery {
		if httpfield.CheckNamePattern(p, false) != nil {
			add("cache.ignore_query["+strconv.Itoa(i)+"]", "%q: want a parameter name or a prefix ending in *, such as utm_*, at most %d bytes", p, httpfield.MaxNamePattern)
		}
	}
	return errs
}

// Warnings returns problems that do not stop marquee from starting but that
// an operator should hear about.
func (c *Config) Warnings() Errors {
	var ws Errors
	if c.Cluster != nil && len(c.Identity.Keys) == 0 {
		ws = append(ws, c.Errorf("identity.keys", "cluster configured without explicit keys: each node would sign visitor cookies with its own key and reject the others'"))
	}
	if c.Geo.Header != "" && len(c.TrustedProxies) == 0 {
		ws = append(ws, c.Errorf("geo.header", "%s is believed only from trusted_proxies, and none are listed: geo.country will not read it", c.Geo.Header))
	}
	if c.Cluster != nil && len(c.Cluster.SecretKeys) == 0 {
		ws = append(ws, c.Errorf("cluster.secret_keys", "gossip is not encrypted"))
	}
	return ws
}

// checkGeoDatabase opens path as a MaxMind DB and closes it.
func checkGeoDatabase(path string) error {
	db, err := geo.Open(path)
	if err != nil {
		return err
	}
	return db.Close()
}

// DecodeKey decodes a base64 key, padded or not, standard or URL alphabet.
func DecodeKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b, nil
		}
	}
	_, err := base64.StdEncoding.DecodeString(s)
	return nil, err
}

// ParsePrefix parses a CIDR range or a single address (as a full-length
// prefix).
func ParsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		return p.Masked(), err
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

func checkHostPort(s string) string {
	_, port, err := net.SplitHostPort(s)
	if err != nil {
		return "want host:port, e.g. 127.0.0.1:8000"
	}
	if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		return "port must be a number from 0 to 65535"
	}
	return ""
}

func checkOrigin(s string) string {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "want an http:// or https:// URL with a host"
	}
	if u.Path != "" && u.Path != "/" {
		return "an origin is a base URL without a path"
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "an origin is a base URL without query, fragment or credentials"
	}
	return ""
}

func checkPreviewURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "want the shop's address as browsers reach this proxy, an http:// or https:// URL with a host"
	}
	if u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || u.User != nil {
		return "want a URL without query, fragment or credentials: preview links add their own query"
	}
	return ""
}

func isLoopback(hostport string) bool {
	host, _, _ := net.SplitHostPort(hostport)
	if host == "localhost" {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback()
}

// validCookieName reports whether s is an RFC 6265 cookie-name (an RFC 9110
// token).
func validCookieName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`()<>@,;:\"/[]?={}`, c) >= 0 {
			return false
		}
	}
	return true
}
