// Package bench owns marquee's load testing: an origin simulator, a load
// generator, latency histograms and side-by-side comparisons of the proxy
// passing pages through against personalising them.
package bench
