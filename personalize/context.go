package personalize

import (
	"net/netip"

	"github.com/valyala/fasthttp"

	"github.com/marquee-proxy/marquee/config"
	"github.com/marquee-proxy/marquee/decide"
	"github.com/marquee-proxy/marquee/internal/device"
	"github.com/marquee-proxy/marquee/internal/geo"
	"github.com/marquee-proxy/marquee/proxy"
)

// contextSources is what a Snapshot reads request context with: the
// User-Agent cache, the geo header and database, and the trusted proxies
// that decide whether the header is believed.
type contextSources struct {
	devices   *device.Cache
	geoHeader string
	geoDB     *geo.DB // nil without geo.database
	geoPath   string  // geoDB's file
	trusted   []netip.Prefix
}

// compileContextSources opens what cfg's request context reads. prev, the
// sources of the snapshot being replaced, is reused when cfg names the same
// ones, so that a campaigns change keeps the caches warm and does not
// reopen the database.
func compileContextSources(cfg *config.Config, prev *contextSources, errs *config.Errors) *contextSources {
	src := &contextSources{geoHeader: cfg.Geo.Header}
	for _, s := range cfg.TrustedProxies {
		if p, err := config.ParsePrefix(s); err == nil {
			src.trusted = append(src.trusted, p)
		}
	}
	if prev != nil {
		src.devices = prev.devices
	} else {
		src.devices = device.New(0)
	}
	if cfg.Geo.Database == "" {
		return src
	}
	if prev != nil && prev.geoDB != nil && prev.geoPath == cfg.GeoDatabasePath() {
		src.geoDB, src.geoPath = prev.geoDB, prev.geoPath
		return src
	}
	db, err := geo.Open(cfg.GeoDatabasePath())
	if err != nil {
		*errs = append(*errs, cfg.Errorf("geo.database", "%v", err))
		return src
	}
	src.geoDB, src.geoPath = db, cfg.GeoDatabasePath()
	return src
}

// requestContext is decide.Context over one request: a page the proxy
// rewrites (rc set) or a /_marquee/decide call (local set). It lives in the
// request's scratch and is reset per request; the strings it returns alias
// the request's buffers and are valid until the request ends, which is as
// long as the Decision reading them lives.
type requestContext struct {
	src *contextSources
	h   *fasthttp.RequestHeader
	rc  *proxy.RewriteContext
	// local is a /_marquee/decide request; page is the page it decides
	// for (its url parameter, else its Referer), parsed into pageURI.
	local    *fasthttp.RequestCtx
	page     []byte // local: the page as given, nil when none is
	pageURI  fasthttp.URI
	pageOK   bool   // local: page parsed into pageURI
	referrer []byte // local: the referrer parameter
}

// forPage points c at a page being rewritten.
func (c *requestContext) forPage(src *contextSources, rc *proxy.RewriteContext) {
	c.src, c.h, c.rc, c.local, c.referrer = src, rc.RequestHeader(), rc, nil, nil
}

// forLocal points c at a /_marquee/decide call. Its request.path and
// request.query read the page the app shows, given as the url parameter
// (a path and query, e.g. "/c/shoes?utm_source=mail") or, without it, the
// call's Referer; request.referrer is the referrer parameter.
func (c *requestContext) forLocal(src *contextSources, ctx *fasthttp.RequestCtx) {
	c.src, c.h, c.rc, c.local = src, &ctx.Request.Header, nil, ctx
	c.pageURI.Reset()
	page := ctx.QueryArgs().Peek("url")
	if len(page) == 0 {
		page = ctx.Request.Header.Referer()
	}
	c.page, c.pageOK = page, false
	if len(page) > 0 {
		c.pageOK = c.pageURI.Parse(nil, page) == nil
	}
	c.referrer = ctx.QueryArgs().Peek("referrer")
}

// release drops the request c points at, so that the pooled scratch does
// not keep it reachable.
func (c *requestContext) release() {
	c.src, c.h, c.rc, c.local, c.referrer, c.page = nil, nil, nil, nil, nil, nil
	c.pageURI.Reset()
}

// Request returns the path, host and referrer.
func (c *requestContext) Request() decide.RequestInfo {
	if c.local != nil {
		return decide.RequestInfo{Path: b2s(c.pageURI.Path()), Host: b2s(c.h.Host()), Referrer: b2s(c.referrer)}
	}
	return decide.RequestInfo{Path: b2s(c.rc.URI().Path()), Host: b2s(c.h.Host()), Referrer: b2s(c.h.Referer())}
}

// Query returns a query parameter of the page.
func (c *requestContext) Query(name string) string {
	if c.local != nil {
		return b2s(c.pageURI.QueryArgs().Peek(name))
	}
	return b2s(c.rc.URI().QueryArgs().Peek(name))
}

// Device returns what the User-Agent says.
func (c *requestContext) Device() decide.DeviceInfo { return c.src.device(c.h.UserAgent()) }

// Geo returns where the request comes from: the country of the geo header
// when a trusted proxy sent it, and the database's answer for the
// client's address; region and city only where the database agrees on the
// country.
func (c *requestContext) Geo() decide.GeoInfo {
	var country string
	if c.src.geoHeader != "" && c.peerTrusted() {
		country = geo.Country(c.h.Peek(c.src.geoHeader))
	}
	var g geo.Info
	if c.src.geoDB != nil {
		g = c.src.geoDB.Lookup(c.clientAddr())
	}
	return place(country, g)
}

// device returns what the User-Agent ua says.
func (src *contextSources) device(ua []byte) decide.DeviceInfo {
	d := src.devices.Lookup(ua)
	return decide.DeviceInfo{Type: d.Type, OS: d.OS, Browser: d.Browser}
}

// place is where a request comes from: country, what the geo header
// says, else the geo database's answer g; g's region and city only where
// it agrees on the country.
func place(country string, g geo.Info) decide.GeoInfo {
	if country == "" {
		country = g.Country
	} else if country != g.Country {
		g = geo.Info{}
	}
	return decide.GeoInfo{Country: country, Region: g.Region, City: g.City}
}

func (c *requestContext) peerTrusted() bool {
	if c.local != nil {
		return proxy.Trusted(proxy.PeerAddr(c.local), c.src.trusted)
	}
	return c.rc.PeerTrusted()
}

func (c *requestContext) clientAddr() netip.Addr {
	if c.local != nil {
		return proxy.ClientAddr(c.h, proxy.PeerAddr(c.local), c.src.trusted)
	}
	return c.rc.RemoteIP()
}

// Interface guards.
var _ decide.Context = (*requestContext)(nil)

// ExplainRequest is a request /v1/explain imagines, to show what a
// visitor would get on a given page, device and place.
type ExplainRequest struct {
	// URL is the page's path and query, e.g. "/c/shoes?utm_source=mail".
	URL string
	// Host, Referrer and UserAgent are the request's headers.
	Host, Referrer, UserAgent string
	// Country is what the geo header would say, as if from a trusted
	// proxy; IP the client's address, for the geo database.
	Country string
	IP      netip.Addr
}

// ContextOf returns the request context of r, read as a page's would be.
// It is for the admin API, not the request path: it allocates.
func (s *Snapshot) ContextOf(r ExplainRequest) decide.Context {
	c := &imaginedContext{src: s.context, r: r}
	_ = c.uri.Parse(nil, []byte(r.URL))
	return c
}

// imaginedContext is decide.Context over an ExplainRequest.
type imaginedContext struct {
	src *contextSources
	r   ExplainRequest
	uri fasthttp.URI
}

func (c *imaginedContext) Request() decide.RequestInfo {
	path := ""
	if c.r.URL != "" {
		path = string(c.uri.Path())
	}
	return decide.RequestInfo{Path: path, Host: c.r.Host, Referrer: c.r.Referrer}
}

func (c *imaginedContext) Query(name string) string { return string(c.uri.QueryArgs().Peek(name)) }

func (c *imaginedContext) Device() decide.DeviceInfo { return c.src.device([]byte(c.r.UserAgent)) }

func (c *imaginedContext) Geo() decide.GeoInfo {
	var g geo.Info
	if c.src.geoDB != nil {
		g = c.src.geoDB.Lookup(c.r.IP)
	}
	return place(geo.Country([]byte(c.r.Country)), g)
}

var _ decide.Context = (*imaginedContext)(nil)
