package proxy

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// clientListener wraps the listener Serve is given. It bounds the
// connections of one address (Options.MaxConnsPerIP, not counting trusted
// proxies, whose few addresses carry everyone's connections), and its
// connections can close gracefully after an error response (see
// lingerConn).
type clientListener struct {
	net.Listener
	srv   *Server
	max   int // per address; 0 is no bound
	mu    sync.Mutex
	conns map[netip.Addr]int
}

func newClientListener(ln net.Listener, s *Server) *clientListener {
	return &clientListener{Listener: ln, srv: s, max: max(s.opts.MaxConnsPerIP, 0), conns: map[netip.Addr]int{}}
}

// tooManyConns is written to a connection over the per-address bound.
var tooManyConns = []byte("HTTP/1.1 429 Too Many Requests\r\nContent-Type: text/plain; charset=utf-8\r\n" +
	"Cache-Control: no-store\r\nConnection: close\r\nContent-Length: 29\r\n\r\ntoo many connections from you")

// Accept returns the next connection within the per-address bound; one
// over it is answered 429 and closed.
func (l *clientListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		ip := addrOf(c.RemoteAddr())
		counted := l.max > 0 && ip.IsValid() && !l.srv.trusted(ip)
		if counted && !l.register(ip) {
			l.srv.metrics.outcome(outcomeClientError)
			// A fresh socket's send buffer takes this at once; no lingering
			// here, where a flood of connections would each hold a goroutine.
			_ = c.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
			_, _ = c.Write(tooManyConns)
			_ = c.Close()
			continue
		}
		release := func() {}
		if counted {
			release = func() { l.unregister(ip) }
		}
		switch cc := c.(type) {
		case *net.TCPConn:
			lc := &lingerConn{TCPConn: cc, release: release, budget: l.srv.wireBudget()}
			lc.left = lc.budget
			return lc, nil
		case *tls.Conn:
			// Keeps fasthttp's TLS detection; no lingering close.
			return &countedTLSConn{Conn: cc, release: release}, nil
		default:
			return &countedConn{Conn: c, release: release}, nil
		}
	}
}

func (l *clientListener) register(ip netip.Addr) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.conns[ip] >= l.max {
		return false
	}
	l.conns[ip]++
	return true
}

func (l *clientListener) unregister(ip netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if n := l.conns[ip] - 1; n > 0 {
		l.conns[ip] = n
	} else {
		delete(l.conns, ip)
	}
}

// lingerConn is a client TCP connection. Closed after an error response
// to a request whose body is still arriving (a 413 for an eagerly sent
// upload), an abrupt close would reset the connection, and a reset makes
// the client's kernel discard the response before the client has read it.
// Once marked with lingerOnClose, Close instead half-closes, reads and
// discards what the client still sends for a bounded time and amount, and
// only then closes.
//
// It also bounds the bytes read for one request (see Server.wireBudget):
// fasthttp limits a head and a body but not a body's chunked framing, and
// reads a chunk extension of any length byte by byte until ReadTimeout.
// The count starts again at each write to the client, which follows every
// request read. Reads and writes come from fasthttp's one goroutine for
// the connection, so the count needs no lock.
type lingerConn struct {
	*net.TCPConn
	release func()
	linger  atomic.Bool
	closed  atomic.Bool
	budget  int // bytes one request may take on the wire
	left    int // of budget, since the last write
}

// errWireBudget ends a request whose framing outgrows its limits.
var errWireBudget = errors.New("proxy: request framing too large")

// Read implements net.Conn, within the request's wire budget.
func (c *lingerConn) Read(p []byte) (int, error) {
	if c.left <= 0 {
		return 0, errWireBudget
	}
	n, err := c.TCPConn.Read(p)
	c.left -= n
	return n, err
}

// Write implements net.Conn; a response means the next request starts
// with a full budget.
func (c *lingerConn) Write(p []byte) (int, error) {
	c.left = c.budget
	return c.TCPConn.Write(p)
}

// ReadFrom implements io.ReaderFrom, which bufio uses to send a file; it
// too is a write.
func (c *lingerConn) ReadFrom(r io.Reader) (int64, error) {
	c.left = c.budget
	return c.TCPConn.ReadFrom(r)
}

// Bounds of a lingering close: the client gets this long to read the
// response, and this much of the rest of its upload is read and discarded.
const (
	lingerTime  = 2 * time.Second
	lingerBytes = 16 << 20
)

// lingerOnClose makes the next Close graceful.
func (c *lingerConn) lingerOnClose() { c.linger.Store(true) }

// Close implements net.Conn.
func (c *lingerConn) Close() error {
	if c.closed.Swap(true) {
		return nil
	}
	c.release()
	if !c.linger.Load() {
		return c.TCPConn.Close()
	}
	go lingerClose(c.TCPConn)
	return nil
}

// lingerClose half-closes c, discards what the peer still sends within
// lingerTime and lingerBytes, and closes c.
func lingerClose(c *net.TCPConn) {
	_ = c.CloseWrite()
	_ = c.SetReadDeadline(time.Now().Add(lingerTime))
	_, _ = io.CopyN(io.Discard, c, lingerBytes)
	_ = c.Close()
}

// countedConn and countedTLSConn release their per-address count on
// Close.
type countedConn struct {
	net.Conn
	release func()
	closed  atomic.Bool
}

func (c *countedConn) Close() error {
	if !c.closed.Swap(true) {
		c.release()
	}
	return c.Conn.Close()
}

type countedTLSConn struct {
	*tls.Conn
	release func()
	closed  atomic.Bool
}

func (c *countedTLSConn) Close() error {
	if !c.closed.Swap(true) {
		c.release()
	}
	return c.Conn.Close()
}
