package proxy

import (
	"net/http"
	"net/http/pprof"
)

// pprofHandler returns the net/http/pprof handler for path.
func pprofHandler(path string) http.Handler {
	switch path {
	case "/debug/pprof/cmdline":
		return http.HandlerFunc(pprof.Cmdline)
	case "/debug/pprof/profile":
		return http.HandlerFunc(pprof.Profile)
	case "/debug/pprof/symbol":
		return http.HandlerFunc(pprof.Symbol)
	case "/debug/pprof/trace":
		return http.HandlerFunc(pprof.Trace)
	default:
		return http.HandlerFunc(pprof.Index)
	}
}
