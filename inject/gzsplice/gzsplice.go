package gzsplice

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
	"sync"

	"github.com/klauspost/compress/flate"
)

// ErrLevel means a compression level outside flate's range, -2 (Huffman
// only) to 9.
var ErrLevel = errors.New("gzsplice: invalid compression level")

// finalBlock is an empty final stored block (RFC 1951 §3.2.3, §3.2.4):
// BFINAL=1 and BTYPE=00 in the first three bits, padding to the byte
// boundary, then LEN=0 and NLEN=0xffff. Every part ends byte-aligned, so it
// can follow any of them.
var finalBlock = [5]byte{0x01, 0x00, 0x00, 0xff, 0xff}

// Segment is a part of the output compressed ahead of time: raw DEFLATE
// blocks, none final, that refer only to the segment's own bytes and end on
// a byte boundary, with the CRC-32 and length of the bytes they decode to.
// A Segment is immutable and may be used by many Streams at once.
type Segment struct {
	deflate []byte
	crc     uint32
	shift   uint32 // x^(8·size) mod P, to combine crc in one multiplication
	size    int
}

// Len returns the length of the bytes the segment decodes to.
func (s *Segment) Len() int { return s.size }

// CompressedLen returns the length of the segment's DEFLATE bytes.
func (s *Segment) CompressedLen() int { return len(s.deflate) }

// Encoder compresses at one level. Its compressors are pooled: one costs
// hundreds of kilobytes to build. An Encoder is safe for concurrent use.
type Encoder struct {
	level int
	pool  sync.Pool // *deflater
}

// deflater is a pooled compressor bound to its own sink, so that handing it
// a buffer allocates nothing.
type deflater struct {
	w    *flate.Writer
	sink sink
}

// sink appends what it is written to b.
type sink struct{ b []byte }

func (s *sink) Write(p []byte) (int, error) {
	s.b = append(s.b, p...)
	return len(p), nil
}

// NewEncoder returns an Encoder compressing at level, as flate numbers
// levels: 1 (fastest) to 9 (best), 0 stores, -1 is the default (6), -2 is
// Huffman coding only.
func NewEncoder(level int) (*Encoder, error) {
	if level < flate.HuffmanOnly || level > flate.BestCompression {
		return nil, ErrLevel
	}
	return &Encoder{level: level}, nil
}

// Level returns the encoder's compression level.
func (e *Encoder) Level() int { return e.level }

// appendDeflate appends src compressed by a fresh compressor and sync
// flushed: self-contained, non-final, byte-aligned DEFLATE blocks.
func (e *Encoder) appendDeflate(dst, src []byte) []byte {
	d, _ := e.pool.Get().(*deflater)
	if d == nil {
		d = new(deflater)
		// The level was checked by NewEncoder, the only error NewWriter has.
		d.w, _ = flate.NewWriter(&d.sink, e.level)
	} else {
		d.w.Reset(&d.sink)
	}
	d.sink.b = dst
	// Writes to a sink cannot fail, so neither can the compressor.
	_, _ = d.w.Write(src)
	_ = d.w.Flush()
	dst = d.sink.b
	d.sink.b = nil
	e.pool.Put(d)
	return dst
}

// Segment compresses src into a new Segment. It is meant to run once per
// part that is reused; the Segment holds no reference to src.
func (e *Encoder) Segment(src []byte) Segment {
	if len(src) == 0 {
		return Segment{shift: one}
	}
	d := e.appendDeflate(nil, src)
	return Segment{
		deflate: d[:len(d):len(d)],
		crc:     crc32.ChecksumIEEE(src),
		shift:   shiftOf(uint64(len(src))),
		size:    len(src),
	}
}

// Stream assembles one gzip member. Begin it with Encoder.Begin, add parts
// in order with AppendSegment and Append, and end it with Finish. A Stream
// is used by one goroutine; it is a value meant to live on the stack.
type Stream struct {
	e    *Encoder
	b    []byte
	crc  uint32
	size uint32 // ISIZE: the length modulo 2^32 (RFC 1952 §2.3.1)
}

// Begin appends a gzip header to dst and returns the Stream that extends it.
// The header names no file, no time and an unknown operating system, as
// compress/gzip writes it (RFC 1952 §2.3.1).
func (e *Encoder) Begin(dst []byte) Stream {
	xfl := byte(0)
	switch e.level {
	case flate.BestCompression:
		xfl = 2
	case flate.BestSpeed:
		xfl = 4
	}
	dst = append(dst, 0x1f, 0x8b, 8, 0, 0, 0, 0, 0, xfl, 255)
	return Stream{e: e, b: dst}
}

// AppendSegment appends a precompressed part. seg must come from an Encoder
// (of any level); it is read, not retained.
func (s *Stream) AppendSegment(seg *Segment) {
	if seg.size == 0 {
		return
	}
	s.b = append(s.b, seg.deflate...)
	s.crc = multModP(seg.shift, s.crc) ^ seg.crc
	s.size += uint32(seg.size)
}

// storedBelow is the length under which Append stores rather than
// compresses: a dynamic Huffman block's code tables cost some 60 bytes, so
// short HTML never shrinks (an 81-byte offer compresses to 91 bytes with
// its flush), and building the tables costs about a microsecond.
const storedBelow = 128

// Append compresses p now and appends it: for the parts that differ per
// member. p is read, not retained.
func (s *Stream) Append(p []byte) {
	if len(p) == 0 {
		return
	}
	if len(p) < storedBelow {
		// A non-final stored block (RFC 1951 §3.2.4): at a byte boundary
		// its 3 header bits and padding are one zero byte, then LEN and
		// its complement NLEN, little-endian, then the bytes.
		n := uint16(len(p))
		s.b = append(s.b, 0, byte(n), byte(n>>8), byte(^n), byte(^n>>8))
		s.b = append(s.b, p...)
	} else {
		s.b = s.e.appendDeflate(s.b, p)
	}
	s.crc = crc32.Update(s.crc, crc32.IEEETable, p)
	s.size += uint32(len(p))
}

// Finish ends the DEFLATE stream with an empty final block, appends the
// trailer (CRC-32 and ISIZE, little-endian, RFC 1952 §2.3.1) and returns
// the extended buffer. The Stream must not be used afterwards.
func (s *Stream) Finish() []byte {
	b := append(s.b, finalBlock[:]...)
	b = binary.LittleEndian.AppendUint32(b, s.crc)
	b = binary.LittleEndian.AppendUint32(b, s.size)
	s.b = nil
	return b
}
