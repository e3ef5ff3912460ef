package inject

import (
	"strconv"
	"sync"
	"unicode/utf8"
)

// AppendSplice appends to dst the body with offers[i] in place of slot i's
// replaced range, and returns the extended slice. A nil offers[i] (or a
// missing one, when offers is shorter than the slot count) keeps the slot's
// fallback; an empty non-nil offer removes it. Offers are HTML and are
// written as given, except that on a page whose charset is not UTF-8 their
// non-ASCII characters are written as numeric character references.
//
// body must be the body the plan was returned for by Compiler.Plan; a body of
// another length is appended unchanged. The splice allocates only when dst
// lacks capacity.
func (p *Plan) AppendSplice(dst, body []byte, offers [][]byte) []byte {
	if len(body) != p.size {
		return append(dst, body...)
	}
	prev := 0
	for i := range p.slots {
		s := &p.slots[i]
		dst = append(dst, body[prev:s.Start]...)
		var offer []byte
		if i < len(offers) {
			offer = offers[i]
		}
		switch {
		case offer == nil:
			dst = append(dst, body[s.Start:s.End]...)
		case p.ncr:
			dst = appendNCR(dst, offer)
		default:
			dst = append(dst, offer...)
		}
		prev = s.End
	}
	return append(dst, body[prev:]...)
}

// SpliceSize returns the length of the AppendSplice output before any numeric
// character reference expansion, so that a caller can size its buffer once.
// It is exact on UTF-8 pages and for ASCII offers; otherwise the output may be
// longer.
func (p *Plan) SpliceSize(offers [][]byte) int {
	n := p.size
	for i := range p.slots {
		if i < len(offers) && offers[i] != nil {
			n += len(offers[i]) - (p.slots[i].End - p.slots[i].Start)
		}
	}
	return n
}

// appendNCR appends UTF-8 text with every non-ASCII character written as
// "&#N;", which means the same character in any ASCII-compatible encoding.
// Invalid UTF-8 becomes U+FFFD, as a UTF-8 decoder would read it.
func appendNCR(dst, s []byte) []byte {
	for len(s) > 0 {
		i := 0
		for i < len(s) && s[i] < utf8.RuneSelf {
			i++
		}
		dst = append(dst, s[:i]...)
		s = s[i:]
		if len(s) == 0 {
			break
		}
		r, n := utf8.DecodeRune(s)
		s = s[n:]
		dst = append(dst, '&', '#')
		dst = strconv.AppendInt(dst, int64(r), 10)
		dst = append(dst, ';')
	}
	return dst
}

// Buffer is a pooled output buffer for AppendSplice.
type Buffer struct {
	// B is the buffer's bytes; AcquireBuffer returns it with length zero.
	B []byte
}

// maxPooledBuffer keeps one huge page from pinning its buffer in the pool.
const maxPooledBuffer = 1 << 20

var bufferPool = sync.Pool{New: func() any { return &Buffer{B: make([]byte, 0, 64<<10)} }}

// AcquireBuffer returns an empty Buffer from a pool. Return it with
// ReleaseBuffer once the bytes are written out; they must not be used after.
func AcquireBuffer() *Buffer {
	b := bufferPool.Get().(*Buffer)
	b.B = b.B[:0]
	return b
}

// ReleaseBuffer returns b to the pool. b and its bytes must not be used
// afterwards. A nil b is ignored.
func ReleaseBuffer(b *Buffer) {
	if b == nil || cap(b.B) > maxPooledBuffer {
		return
	}
	b.B = b.B[:0]
	bufferPool.Put(b)
}
