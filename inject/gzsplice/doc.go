// Package gzsplice builds one gzip member (RFC 1952) from parts compressed
// at different times: parts that never change are compressed once and kept
// as Segments, and the parts that change per request are compressed when
// the member is assembled. The output is a single ordinary gzip stream that
// any decoder reads; nothing about it reveals that it was stitched.
//
// It runs on the request path (Stream) and off it (Encoder.Segment, once per
// compiled page). It knows nothing about HTML or pages: package inject maps
// a compiled page onto Segments.
//
// Why stitching is sound for DEFLATE (RFC 1951): a stream is a sequence of
// blocks, each with its own header and Huffman codes (§3.2.3), and a block
// may be followed by any other block. A part compressed by a fresh
// compressor refers back only to its own bytes (§3.2.5: distances reach into
// the output already produced, and a fresh compressor produced none), and a
// sync flush ends it with an empty stored block (§3.2.4), which pads to a
// byte boundary. So byte-aligned parts, each self-contained and none final,
// concatenate into a valid block sequence; a final empty stored block ends
// it. The gzip trailer's CRC-32 of the whole output is combined from the
// parts' CRCs without reading the parts again (crc.go).
//
// Brotli (RFC 7932) has no such property, which is why there is no brotli
// counterpart here: a brotli meta-block is decoded against state carried
// over from everything before it — the last four distances (§4), the two
// previous bytes that select literal contexts (§7.1), and the position,
// which decides whether a distance is a back-reference or a static
// dictionary word (§4, §8). A part compressed on its own assumes a start
// position and state that differ once an offer of any other length precedes
// it, so it would decode to different bytes. Only an encoder that avoids
// every position- and history-dependent code (no dictionary words, no
// distance-cache codes, one literal context) could emit stitchable parts;
// andybalholm/brotli offers no such mode, so brotli responses are compressed
// per request.
package gzsplice
