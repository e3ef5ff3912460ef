// Package device tells from a User-Agent what kind of device, operating
// system and browser a request comes from, for expressions' device.type,
// device.os and device.browser. It runs on the request path: parsing is
// done once per distinct User-Agent and remembered in a bounded cache, so
// that a repeat costs a hash and a comparison.
package device
