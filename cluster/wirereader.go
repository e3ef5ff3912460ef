package cluster

import (
	"encoding/binary"
	"fmt"

	"github.com/marquee-proxy/marquee/profile"
)

// record is one profile or one tombstone on the wire.
type record struct {
	ID string
	// Erased is the erasure's version for a tombstone; 0 for a profile.
	Erased profile.Version
	// Profile is the profile's JSON for a profile record.
	Profile []byte
}

// reader decodes a body; the first error sticks and every later read
// returns zero values.
type reader struct {
	b   []byte
	err error
}

func (r *reader) fail(what string) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: bad %s", ErrMessage, what)
	}
	r.b = nil
}

func (r *reader) uvarint(what string) uint64 { return readVarint(r, what, binary.Uvarint) }

func (r *reader) varint(what string) int64 { return readVarint(r, what, binary.Varint) }

// readVarint reads one varint with decode (binary.Uvarint or
// binary.Varint).
func readVarint[T uint64 | int64](r *reader, what string, decode func([]byte) (T, int)) T {
	if r.err != nil {
		return 0
	}
	v, n := decode(r.b)
	if n <= 0 {
		r.fail(what)
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) uint64(what string) uint64 {
	if r.err != nil || len(r.b) < 8 {
		r.fail(what)
		return 0
	}
	v := binary.LittleEndian.Uint64(r.b)
	r.b = r.b[8:]
	return v
}

func (r *reader) byte(what string) byte {
	if r.err != nil || len(r.b) == 0 {
		r.fail(what)
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

// bytes returns a length-prefixed slice aliasing the body.
func (r *reader) bytes(what string, max int) []byte {
	n := r.uvarint(what)
	if r.err != nil {
		return nil
	}
	if n > uint64(max) || n > uint64(len(r.b)) {
		r.fail(what)
		return nil
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) id() string {
	b := r.bytes("id", maxIDLen)
	if r.err == nil && len(b) == 0 {
		r.fail("id")
	}
	return string(b)
}

// count reads a list length, refusing more items than the rest of the
// body could hold at min bytes each.
func (r *reader) count(what string, min int) int {
	n := r.uvarint(what)
	if r.err == nil && n > uint64(len(r.b)/min) {
		r.fail(what)
		return 0
	}
	return int(n)
}

func (r *reader) record() record {
	var rec record
	tag := r.byte("record tag")
	rec.ID = r.id()
	switch {
	case r.err != nil:
	case tag == 1:
		rec.Erased = profile.Version(r.uvarint("erasure version"))
		if rec.Erased == 0 {
			r.fail("erasure version")
		}
	case tag == 0:
		rec.Profile = r.bytes("profile", maxMessage)
		if len(rec.Profile) == 0 {
			r.fail("profile")
		}
	default:
		r.fail("record tag")
	}
	return rec
}

func (r *reader) done() error {
	if r.err == nil && len(r.b) != 0 {
		r.fail("trailing bytes")
	}
	return r.err
}
