// Package demo holds the embedded demo storefront and its seed data, used by
// `marquee demo`.
//
// [NewShop] is the origin the demo puts behind the proxy: "Northwind
// Outfitters", a made-up shop of 30 products whose pages mark the slots
// hero, offer and recs with data-marquee-slot, carry a CSRF token that
// changes on every request (as real shops' pages do, so the page cache sees
// a new body each time), and keep a cart in a plain cookie. [Products],
// [Categories] and [CatalogJSON] expose its catalog; [NamedSeeds] and
// [GeneratedSeeds] are profiles for the admin API; [Config] is the segments
// and campaigns that make those profiles see different pages.
//
// Nothing here runs on the proxy's request path: the shop is the origin, and
// everything it serves is built from embedded data when it is created.
package demo
