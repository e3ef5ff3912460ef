// Package bench owns marquee's load testing: an origin simulator, a load
// generator, latency histograms and side-by-side comparisons of the proxy
// passing pages through against personalising them. It backs the
// "marquee bench" command and never runs on the request path.
//
// [Run] starts, all on loopback:
//
//   - the origin simulator ([StartOrigin]): a fasthttp server serving one page
//     (by default [ListingPage], the shared 61 KB listing page), optionally
//     gzip-encoded and optionally with a per-request token;
//   - the marquee binary twice as child processes ([StartChild]), once with
//     "serve -passthrough" and once personalising, from a generated
//     configuration ([ProxyConfig]) whose campaigns fill every slot of the
//     page, with generated profiles stored through the admin API;
//   - with Options.Cache, the same two again with the edge cache on
//     ([CacheSection]), the origin letting shared caches keep the page;
//   - optionally nginx ([StartNginx]) as a plain proxy and with sub_filter
//     substituting the same slots, and with Options.Cache both again with
//     proxy_cache.
//
// It then loads each server in turn with the same settings ([Load]):
// closed loop for the maximum throughput, then open loop at a fixed rate
// for latency. Visitors carry valid signed cookies and follow a Zipf
// distribution ([Picker]). Each server's Duration is split into rounds taken
// in ABBA order, each slice after a warm-up, so that changes in the
// machine's background load fall on every server alike. Around each slice
// the bench reads the server process's user and system CPU time from /proc
// ([ProcessCPU], [TreeCPU]) and, for marquee, its allocation and outcome counters from
// /metrics ([ScrapeMetrics]), so that CPU and allocations per request belong
// to the proxy alone, not to the load generator sharing the machine.
// Latencies go into log-linear histograms ([Histogram]); cache hits are
// counted from the X-Cache field every cached server sends.
package bench
