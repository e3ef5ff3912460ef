package admin

import (
	"net"
	"net/netip"
	"strconv"
)

// ConsoleFrameSources returns the CSP source list naming the origins the
// console may be served from, which a page preview allows as
// frame-ancestors: listen is admin.listen as configured, port the port its
// listener got (listen may have said 0). The console is served over plain
// HTTP. A host named in listen stands for itself and, when loopback, also
// as localhost, the name browsers on the machine often use. A listener on
// every address (0.0.0.0, ::, or no host) may be reached by any name, so
// any host on that port is allowed. Empty when listen is not host:port.
func ConsoleFrameSources(listen string, port int) string {
	host, _, err := net.SplitHostPort(listen)
	if err != nil || port <= 0 {
		return ""
	}
	p := ":" + strconv.Itoa(port)
	if host == "" {
		return "http://*" + p
	}
	if host == "localhost" {
		return "http://localhost" + p + " http://127.0.0.1" + p + " http://[::1]" + p
	}
	a, err := netip.ParseAddr(host)
	switch {
	case err != nil:
		return "http://" + host + p
	case a.IsUnspecified():
		return "http://*" + p
	case a.IsLoopback():
		return "http://" + net.JoinHostPort(a.String(), strconv.Itoa(port)) + " http://localhost" + p
	}
	return "http://" + net.JoinHostPort(a.String(), strconv.Itoa(port))
}
