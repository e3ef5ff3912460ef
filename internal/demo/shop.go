package demo

import (
	"bytes"
	"crypto/rand"
	"embed"
	"html/template"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static/app.css
var appCSS []byte

// favicon is a tiny SVG, served as /favicon.ico so browsers asking for the
// icon get one through the proxy instead of a 404.
const favicon = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="6" fill="#183a37"/><path d="M6 25 L14 9 L18 17 L21 12 L27 25 Z" fill="#f4a261"/></svg>`

// Cache policies. Catalog pages are the same for everyone apart from the
// CSRF token, so the shop lets shared caches keep them briefly, as real
// shops do; the proxy replaces this with private on personalised pages.
// Cart and order pages belong to one shopper and must never be shared.
const (
	cachePublic  = "public, max-age=60"
	cachePrivate = "no-store"
	cacheStatic  = "public, max-age=3600"
)

// maxFormBytes bounds the add-to-cart form; it has two short fields.
const maxFormBytes = 4 << 10

// pageNames are the page templates, each parsed together with layout.html.
var pageNames = []string{"home", "category", "product", "cart", "complete", "notfound"}

// shop is the demo storefront. Everything it serves is built from the
// embedded catalog when it is created; per request it only renders.
type shop struct {
	mux   *http.ServeMux
	pages map[string]*template.Template
	views []productView // by catalog index
	nav   []navLink
}

// NewShop returns the demo storefront "Northwind Outfitters" as an
// http.Handler: a home page, category and product pages, a cookie cart and a
// checkout, each HTML page carrying the slots hero, offer and recs that
// marquee fills. It is safe for concurrent use and keeps no state between
// requests apart from what the demo_cart cookie holds.
//
// Routes:
//
//	GET  /                    home: hero, offer, featured grid, recs
//	GET  /c/{category}        category listing: hero, recs
//	GET  /p/{product}         product page: offer, recs, add-to-cart form
//	GET  /cart                the cart from the demo_cart cookie: recs
//	POST /cart/add            form product, qty; 303 to /cart
//	GET  /checkout/complete   thank-you page; empties the cart and, when
//	                          it held something, announces the order to
//	                          marquee: X-Marquee-Event: purchase; id=ORDER;
//	                          value=TOTAL
//	GET  /healthz             200 "ok"
//	GET  /static/app.css      the shop's stylesheet
//	GET  /img/{id}.svg        a product's image
//	GET  /favicon.ico         an SVG icon
//
// Anything else gets the shop's 404 page.
func NewShop() http.Handler {
	s := &shop{mux: http.NewServeMux(), pages: make(map[string]*template.Template, len(pageNames))}
	layout := template.Must(template.ParseFS(templateFS, "templates/layout.html"))
	for _, name := range pageNames {
		// The embedded templates are part of the binary: a parse error is a
		// build defect that the package tests catch, hence Must.
		s.pages[name] = template.Must(template.Must(layout.Clone()).ParseFS(templateFS, "templates/"+name+".html"))
	}
	for i, it := range items {
		s.views = append(s.views, newProductView(i, it))
	}
	for _, c := range categories {
		s.nav = append(s.nav, navLink{Slug: c.slug, Name: c.name, URL: "/c/" + c.slug})
	}

	s.mux.HandleFunc("GET /{$}", s.home)
	s.mux.HandleFunc("GET /c/{category}", s.category)
	s.mux.HandleFunc("GET /p/{product}", s.product)
	s.mux.HandleFunc("GET /cart", s.cart)
	s.mux.HandleFunc("POST /cart/add", s.cartAdd)
	s.mux.HandleFunc("GET /checkout/complete", s.complete)
	s.mux.HandleFunc("GET /healthz", healthz)
	s.mux.HandleFunc("GET /static/app.css", stylesheet)
	s.mux.HandleFunc("GET /img/{file}", s.image)
	s.mux.HandleFunc("GET /favicon.ico", faviconHandler)
	s.mux.HandleFunc("/", s.notFound)
	return s
}

// ServeHTTP routes r to the page it asks for.
func (s *shop) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// productView is a product formatted for templates, built once.
type productView struct {
	ID, Title, URL, Price, Blurb string
	Image                        string
	Category, CategoryName       string
	CategoryURL                  string
	Tags                         []string
	cents                        int64
}

func newProductView(i int, it item) productView {
	p := catalog().products[i]
	c, _ := findCategory(it.categories[0])
	cents := int64(math.Round(it.price * 100))
	return productView{
		ID: p.ID, Title: p.Title, URL: p.URL, Price: formatCents(cents), Blurb: it.blurb,
		Image:    p.Image,
		Category: c.slug, CategoryName: c.name, CategoryURL: "/c/" + c.slug,
		Tags:  it.tags,
		cents: cents,
	}
}

// navLink is one department in the header and footer.
type navLink struct {
	Slug, Name, URL string
	Active          bool
}

// hero is the fallback content of the hero slot.
type hero struct {
	Heading, Text, URL, CTA string
}

// cartView is one cart line formatted for templates.
type cartView struct {
	Product productView
	Qty     int
	Total   string
}

// page is what every page template receives; each page fills the fields it
// shows.
type page struct {
	Title     string
	CSRF      string
	CSS       template.CSS
	Nav       []navLink
	Hero      hero
	Category  navLink
	Product   productView
	Products  []productView
	RecsTitle string
	Recs      []productView
	Cart      []cartView
	CartItems int
	CartTotal string
	Order     string
}

// newPage starts the data of a page. The CSRF token is fresh on every
// request, as on real shops, which makes every page body unique.
func (s *shop) newPage(title, active string) *page {
	nav := slices.Clone(s.nav)
	for i := range nav {
		nav[i].Active = nav[i].Slug == active
	}
	return &page{Title: title, CSRF: rand.Text(), CSS: template.CSS(appCSS), Nav: nav}
}

func (s *shop) home(w http.ResponseWriter, r *http.Request) {
	p := s.newPage("Gear for every season", "")
	p.Hero = hero{
		Heading: "Gear for every season",
		Text:    "Tents, jackets, gadgets and good books, with free returns within 30 days.",
		URL:     "/c/outdoor", CTA: "Shop outdoor",
	}
	for _, id := range featuredIDs {
		p.Products = append(p.Products, s.views[catalog().byID[id]])
	}
	p.RecsTitle = "Popular now"
	p.Recs = s.popular(4, func(int) bool { return true })
	s.render(w, http.StatusOK, "home", p, cachePublic)
}

func (s *shop) category(w http.ResponseWriter, r *http.Request) {
	c, ok := findCategory(r.PathValue("category"))
	if !ok {
		s.notFound(w, r)
		return
	}
	p := s.newPage(c.name, c.slug)
	p.Category = navLink{Slug: c.slug, Name: c.name, URL: "/c/" + c.slug}
	p.Hero = hero{Heading: c.name, Text: c.blurb}
	for _, i := range catalog().byPopularity {
		if inCategory(i, c.slug) {
			p.Products = append(p.Products, s.views[i])
		}
	}
	p.RecsTitle = "Popular in other departments"
	p.Recs = s.popular(4, func(i int) bool { return !inCategory(i, c.slug) })
	w.Header().Set("X-Demo-Category", c.slug)
	s.render(w, http.StatusOK, "category", p, cachePublic)
}

func (s *shop) product(w http.ResponseWriter, r *http.Request) {
	i, ok := catalog().byID[r.PathValue("product")]
	if !ok {
		s.notFound(w, r)
		return
	}
	v := s.views[i]
	p := s.newPage(v.Title, v.Category)
	p.Product = v
	p.RecsTitle = "More from " + v.CategoryName
	p.Recs = s.popular(4, func(j int) bool { return j != i && inCategory(j, v.Category) })
	w.Header().Set("X-Demo-Category", v.Category)
	s.render(w, http.StatusOK, "product", p, cachePublic)
}

func (s *shop) cart(w http.ResponseWriter, r *http.Request) {
	c := readCart(r)
	p := s.newPage("Your cart", "")
	s.fillCart(p, c)
	p.RecsTitle = "Popular now"
	p.Recs = s.popular(4, func(i int) bool {
		return !slices.ContainsFunc(c, func(l cartLine) bool { return l.id == items[i].id })
	})
	s.render(w, http.StatusOK, "cart", p, cachePrivate)
}

func (s *shop) cartAdd(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	id := r.PostForm.Get("product")
	if _, ok := catalog().byID[id]; !ok {
		http.Error(w, "unknown product", http.StatusBadRequest)
		return
	}
	qty, err := strconv.Atoi(r.PostForm.Get("qty"))
	if err != nil || qty < 1 {
		qty = 1 // the form's default; a tampered field still adds one
	}
	http.SetCookie(w, readCart(r).add(id, qty).cookie())
	w.Header().Set("Cache-Control", cachePrivate)
	// 303 so a reload of the cart does not resubmit the form (RFC 9110 §15.4.4).
	http.Redirect(w, r, "/cart", http.StatusSeeOther)
}

func (s *shop) complete(w http.ResponseWriter, r *http.Request) {
	c := readCart(r)
	p := s.newPage("Thank you", "")
	s.fillCart(p, c)
	p.Order = "NW-" + rand.Text()[:8]
	if len(c) > 0 {
		http.SetCookie(w, cart(nil).cookie())
		// What a shop's checkout tells marquee, so that experiments can
		// be judged by revenue; the proxy removes the header.
		w.Header().Set("X-Marquee-Event", "purchase; id="+p.Order+"; value="+strconv.FormatFloat(float64(s.cartCents(c))/100, 'f', 2, 64)+"; currency=USD")
	}
	s.render(w, http.StatusOK, "complete", p, cachePrivate)
}

func (s *shop) notFound(w http.ResponseWriter, r *http.Request) {
	s.render(w, http.StatusNotFound, "notfound", s.newPage("Page not found", ""), cachePublic)
}

// cartCents is the value of c in cents.
func (s *shop) cartCents(c cart) int64 {
	var total int64
	for _, l := range c {
		total += s.views[catalog().byID[l.id]].cents * int64(l.qty)
	}
	return total
}

// fillCart sets the cart fields of p from c.
func (s *shop) fillCart(p *page, c cart) {
	var total int64
	for _, l := range c {
		v := s.views[catalog().byID[l.id]]
		line := v.cents * int64(l.qty)
		total += line
		p.Cart = append(p.Cart, cartView{Product: v, Qty: l.qty, Total: formatCents(line)})
	}
	p.CartItems = c.items()
	p.CartTotal = formatCents(total)
}

// popular returns up to n products, most popular first, for which keep
// reports true.
func (s *shop) popular(n int, keep func(i int) bool) []productView {
	var out []productView
	for _, i := range catalog().byPopularity {
		if len(out) == n {
			break
		}
		if keep(i) {
			out = append(out, s.views[i])
		}
	}
	return out
}

// render executes page name into a buffer first, so a template error becomes
// a clean 500 instead of half a page.
func (s *shop) render(w http.ResponseWriter, status int, name string, p *page, cacheControl string) {
	var buf bytes.Buffer
	if err := s.pages[name].ExecuteTemplate(&buf, "layout", p); err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", cacheControl)
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

func healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", cachePrivate)
	w.Write([]byte("ok\n"))
}

func stylesheet(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Header().Set("Cache-Control", cacheStatic)
	w.Write(appCSS)
}

// image serves a product's image, or the shop's 404 page.
func (s *shop) image(w http.ResponseWriter, r *http.Request) {
	svg, ok := catalog().images[r.URL.Path]
	if !ok {
		s.notFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "image/svg+xml")
	w.Header().Set("Cache-Control", cacheStatic)
	w.Write(svg)
}

func faviconHandler(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "image/svg+xml")
	w.Header().Set("Cache-Control", cacheStatic)
	w.Write([]byte(favicon))
}

// formatCents formats an amount in cents as dollars, "$1,234.50".
func formatCents(c int64) string {
	dollars := strconv.FormatInt(c/100, 10)
	var b strings.Builder
	b.WriteByte('$')
	for i, d := range dollars {
		if i > 0 && (len(dollars)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(d)
	}
	cents := c % 100
	b.WriteByte('.')
	b.WriteByte(byte('0' + cents/10))
	b.WriteByte(byte('0' + cents%10))
	return b.String()
}

// Interface guards.
var _ http.Handler = (*shop)(nil)
