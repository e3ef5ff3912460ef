// Package linecount counts the bytes and lines of an NDJSON stream as it
// is read, for the progress reports of bulk imports on both ends: the
// command that uploads a file and the node that applies it.
package linecount

import (
	"bytes"
	"io"
	"sync/atomic"
)

// Reader counts the bytes and lines read through it. The counts may be
// read from another goroutine while it is being read.
type Reader struct {
	r     io.Reader
	bytes atomic.Int64
	lines atomic.Int64
}

// New returns a Reader counting what is read from r.
func New(r io.Reader) *Reader { return &Reader{r: r} }

func (c *Reader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.bytes.Add(int64(n))
	c.lines.Add(int64(bytes.Count(p[:n], []byte{'\n'})))
	return n, err
}

// Bytes is how many bytes have been read so far.
func (c *Reader) Bytes() int64 { return c.bytes.Load() }

// Lines is how many newlines have been read so far.
func (c *Reader) Lines() int64 { return c.lines.Load() }
