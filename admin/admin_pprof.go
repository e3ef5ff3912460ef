package admin

import (
	"net/http"
	"net/http/pprof"
)

// pprofRoutes are net/http/pprof's handlers by the paths it documents.
var pprofRoutes = []struct {
	path string
	h    http.HandlerFunc
}{
	{"/debug/pprof/", pprof.Index},
	{"/debug/pprof/cmdline", pprof.Cmdline},
	{"/debug/pprof/profile", pprof.Profile},
	{"/debug/pprof/symbol", pprof.Symbol},
	{"/debug/pprof/trace", pprof.Trace},
}
