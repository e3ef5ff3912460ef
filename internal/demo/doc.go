// Package demo holds the embedded demo storefront and its seed data, used by
// `marquee demo`.
package demo
