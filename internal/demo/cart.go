package demo

import (
	"net/http"
	"strconv"
	"strings"
)

const (
	// cartCookie is the plain (unsigned) cookie the shop keeps its cart in,
	// as many small shops do; the proxy must pass it through untouched.
	cartCookie = "demo_cart"
	// maxCartLines and maxQty keep the cookie well under the 4096 bytes
	// browsers store per cookie (RFC 6265 §6.1).
	maxCartLines = 20
	maxQty       = 99
)

// cartLine is one product in the cart.
type cartLine struct {
	id  string
	qty int
}

// cart is the ordered content of the demo_cart cookie.
type cart []cartLine

// readCart parses the demo_cart cookie of r. The cookie comes from the
// browser and may be anything: unknown products, bad quantities and excess
// lines are dropped, never an error.
func readCart(r *http.Request) cart {
	ck, err := r.Cookie(cartCookie)
	if err != nil {
		return nil
	}
	return parseCart(ck.Value)
}

// parseCart decodes "id:qty|id:qty". Only characters RFC 6265 §4.1.1 allows
// in a cookie value unquoted are used, so net/http never quotes it.
func parseCart(v string) cart {
	var c cart
	for part := range strings.SplitSeq(v, "|") {
		id, q, ok := strings.Cut(part, ":")
		if !ok {
			continue
		}
		n, err := strconv.Atoi(q)
		if err != nil || n <= 0 {
			continue
		}
		if _, known := catalog().byID[id]; !known {
			continue
		}
		c = c.add(id, n)
		if len(c) == maxCartLines {
			break
		}
	}
	return c
}

// add returns c with n more of product id, capped at maxQty per line and
// maxCartLines lines.
func (c cart) add(id string, n int) cart {
	for i := range c {
		if c[i].id == id {
			c[i].qty = min(c[i].qty+n, maxQty)
			return c
		}
	}
	if len(c) >= maxCartLines {
		return c
	}
	return append(c, cartLine{id: id, qty: min(n, maxQty)})
}

// String encodes c for the cookie.
func (c cart) String() string {
	var b strings.Builder
	for i, l := range c {
		if i > 0 {
			b.WriteByte('|')
		}
		b.WriteString(l.id)
		b.WriteByte(':')
		b.WriteString(strconv.Itoa(l.qty))
	}
	return b.String()
}

// items returns the number of units in c.
func (c cart) items() int {
	n := 0
	for _, l := range c {
		n += l.qty
	}
	return n
}

// cookie returns the Set-Cookie value that stores c; an empty cart deletes
// the cookie.
func (c cart) cookie() *http.Cookie {
	ck := &http.Cookie{
		Name:     cartCookie,
		Value:    c.String(),
		Path:     "/",
		MaxAge:   30 * 24 * 60 * 60,
		HttpOnly: true,
		SameSite: http.SameSiteLaxMode,
	}
	if len(c) == 0 {
		ck.MaxAge = -1
	}
	return ck
}
