package cluster

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"github.com/klauspost/compress/zstd"

	"github.com/marquee-proxy/marquee/profile"
	msync "github.com/marquee-proxy/marquee/sync"
)

// kind is the first byte of every message between nodes.
type kind uint8

// Message kinds. Values are on the wire: never renumber.
const (
	kindInvalid kind = iota
	// kindDelta is one record, gossiped (or sent reliably when large).
	kindDelta
	// kindRecords is a page of records answering a pull.
	kindRecords
	// kindPull lists the entries the sender holds in some buckets and
	// asks for every record newer than those.
	kindPull
	// kindConfigPull asks for the replicated config.
	kindConfigPull
	// kindConfig is a version of the replicated config.
	kindConfig
	// kindStats is one node's counters.
	kindStats
	// kindBatch is a packet of fresh local changes sent by their writer
	// straight to every member; receivers do not pass it on.
	kindBatch
	// kindPullSum is kindPull whose entries also carry the content sum
	// (msync.Entry.Sum). It is sent only to a peer that announced it
	// understands it (wireMetaSuffix); a kindPull, from a node of an
	// earlier release, is answered comparing versions and nodes only.
	kindPullSum
	// kindPurge carries cache purges: one just issued, sent by its node
	// straight to every member, or those a peer lacked, answering a
	// kindPurgePull. Sent only to peers that announce wireMetaPurge.
	kindPurge
	// kindPurgeSum is the count and sum of the purges a node keeps, sent
	// after a push/pull so that the peer can tell whether it lacks any.
	kindPurgeSum
	// kindPurgePull lists the purges a node keeps and asks for the others.
	kindPurgePull
	kindEnd
)

// String names the kind in logs; it never panics.
func (k kind) String() string {
	switch k {
	case kindDelta:
		return "delta"
	case kindRecords:
		return "records"
	case kindPull:
		return "pull"
	case kindConfigPull:
		return "config-pull"
	case kindConfig:
		return "config"
	case kindStats:
		return "stats"
	case kindBatch:
		return "batch"
	case kindPullSum:
		return "pull-sum"
	case kindPurge:
		return "purge"
	case kindPurgeSum:
		return "purge-sum"
	case kindPurgePull:
		return "purge-pull"
	}
	return "invalid"
}

// wireMetaSuffix ends the node meta a node announces when it understands
// kindPullSum. A node of an earlier release announces its meta as given,
// and is sent kindPull; it shows this suffix as part of a new node's meta
// until it is upgraded too.
const wireMetaSuffix = " +pullsum"

// wireMetaPurge comes just before wireMetaSuffix in the meta of a node
// that understands the purge kinds; a node of an earlier release is sent
// none of them. It must stay before wireMetaSuffix: a node of the release
// before purges looks for that suffix at the very end.
const wireMetaPurge = " +purge"

// wireMeta is the meta a node given meta announces.
func wireMeta(meta string) []byte { return []byte(meta + wireMetaPurge + wireMetaSuffix) }

func hasWireSuffix(meta []byte) bool {
	return bytes.HasSuffix(meta, []byte(wireMetaSuffix))
}

// hasPurgeSuffix reports whether meta announces the purge kinds.
func hasPurgeSuffix(meta []byte) bool {
	return hasWireSuffix(meta) && bytes.HasSuffix(meta[:len(meta)-len(wireMetaSuffix)], []byte(wireMetaPurge))
}

// trimWireSuffix is meta as the node was given it.
func trimWireSuffix(meta []byte) []byte {
	if !hasWireSuffix(meta) {
		return meta
	}
	return bytes.TrimSuffix(meta[:len(meta)-len(wireMetaSuffix)], []byte(wireMetaPurge))
}

// Header flags.
const flagZstd = 1 << 0

// Limits on decoded input: nothing from the network allocates more.
const (
	maxMessage = 64 << 20 // decompressed body
	maxIDLen   = msync.MaxIDLen
	maxBuckets = 1 << 16
)

var (
	zenc, _ = zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1))
	zdec, _ = zstd.NewReader(nil, zstd.WithDecoderConcurrency(0), zstd.WithDecoderMaxMemory(maxMessage), zstd.WithDecoderMaxWindow(maxMessage))
)

// seal prefixes body with its kind and flags, compressing it when that
// saves at least an eighth.
func seal(k kind, body []byte) []byte {
	out := make([]byte, 2, 2+len(body))
	out[0] = byte(k)
	if len(body) >= 128 {
		z := zenc.EncodeAll(body, out)
		if len(z)-2 < len(body)-len(body)/8 {
			z[1] = flagZstd
			return z
		}
	}
	return append(out, body...)
}

// open splits a message into its kind and body, decompressing it. The
// body does not alias msg when it was compressed, and does otherwise.
func open(msg []byte) (kind, []byte, error) {
	if len(msg) < 2 {
		return kindInvalid, nil, fmt.Errorf("%w: %d-byte message", ErrMessage, len(msg))
	}
	k := kind(msg[0])
	if k == kindInvalid || k >= kindEnd {
		return kindInvalid, nil, fmt.Errorf("%w: kind %d", ErrMessage, msg[0])
	}
	switch msg[1] {
	case 0:
		return k, msg[2:], nil
	case flagZstd:
		body, err := zdec.DecodeAll(msg[2:], nil)
		if err != nil {
			return kindInvalid, nil, fmt.Errorf("%w: %w", ErrMessage, err)
		}
		if len(body) > maxMessage {
			return kindInvalid, nil, fmt.Errorf("%w: body over %d bytes", ErrMessage, maxMessage)
		}
		return k, body, nil
	}
	return kindInvalid, nil, fmt.Errorf("%w: flags %#x", ErrMessage, msg[1])
}

// appendRecord encodes r: a tag (0 profile, 1 tombstone), the id, then
// the erasure's version or the profile's JSON.
func appendRecord(dst []byte, r *record) []byte {
	if r.Erased != 0 {
		dst = append(dst, 1)
		dst = appendString(dst, r.ID)
		return binary.AppendUvarint(dst, uint64(r.Erased))
	}
	dst = append(dst, 0)
	dst = appendString(dst, r.ID)
	dst = binary.AppendUvarint(dst, uint64(len(r.Profile)))
	return append(dst, r.Profile...) // not appendString: string() would copy
}

func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

// encodeDelta encodes one record as a delta message.
func encodeDelta(r *record) []byte { return seal(kindDelta, appendRecord(nil, r)) }

// decodeRecords decodes the body of a delta (one record) or of a records
// page (a count, then records). Profiles alias body.
func decodeRecords(k kind, body []byte) ([]record, error) {
	r := reader{b: body}
	n := 1
	if k == kindRecords || k == kindBatch {
		n = r.count("record count", 3)
	}
	out := make([]record, 0, n)
	for range n {
		out = append(out, r.record())
	}
	if err := r.done(); err != nil {
		return nil, err
	}
	return out, nil
}

// pull is a request for every record newer than the sender's entries in
// some buckets.
type pull struct {
	From    string
	Buckets int   // digest size the bucket numbers refer to
	Want    []int // bucket numbers
	Entries []msync.Entry
	// Sums: the entries carry content sums (kindPullSum). Without them
	// (kindPull, an earlier release's form) Entry.Sum is 0 and means
	// nothing.
	Sums bool
}

// encodePull encodes p as a kindPullSum when p.Sums, else in the earlier
// release's kindPull form, without sums.
func encodePull(p *pull) []byte {
	b := appendString(nil, p.From)
	b = binary.AppendUvarint(b, uint64(p.Buckets))
	b = binary.AppendUvarint(b, uint64(len(p.Want)))
	for _, w := range p.Want {
		b = binary.AppendUvarint(b, uint64(w))
	}
	b = binary.AppendUvarint(b, uint64(len(p.Entries)))
	for _, e := range p.Entries {
		b = appendString(b, e.ID)
		b = binary.AppendUvarint(b, uint64(e.Version))
		b = appendString(b, e.Node)
		b = binary.AppendUvarint(b, uint64(e.Erased))
		if p.Sums {
			b = binary.LittleEndian.AppendUint64(b, e.Sum)
		}
	}
	if p.Sums {
		return seal(kindPullSum, b)
	}
	return seal(kindPull, b)
}

// decodePull decodes the body of a kindPull or kindPullSum.
func decodePull(k kind, body []byte) (pull, error) {
	r := reader{b: body}
	p := pull{Sums: k == kindPullSum}
	p.From = string(r.bytes("node name", 512))
	p.Buckets = int(r.uvarint("bucket count"))
	if r.err == nil && (p.Buckets <= 0 || p.Buckets > maxBuckets) {
		r.fail("bucket count")
	}
	nw := r.count("want count", 1)
	p.Want = make([]int, 0, nw)
	for range nw {
		w := r.uvarint("bucket")
		if r.err == nil && w >= uint64(p.Buckets) {
			r.fail("bucket")
		}
		p.Want = append(p.Want, int(w))
	}
	ne := r.count("entry count", 4)
	p.Entries = make([]msync.Entry, 0, ne)
	for range ne {
		e := msync.Entry{ID: r.id()}
		e.Version = profile.Version(r.uvarint("version"))
		e.Node = string(r.bytes("node name", 512))
		e.Erased = profile.Version(r.uvarint("erasure version"))
		if p.Sums {
			e.Sum = r.uint64("content sum")
		}
		p.Entries = append(p.Entries, e)
	}
	return p, r.done()
}

// encodeConfig and decodeConfig carry one version of the replicated
// config.
func encodeConfig(version uint64, data []byte) []byte {
	b := binary.AppendUvarint(nil, version)
	return seal(kindConfig, append(b, data...))
}

func decodeConfig(body []byte) (uint64, []byte, error) {
	r := reader{b: body}
	v := r.uvarint("config version")
	if r.err != nil {
		return 0, nil, r.err
	}
	return v, r.b, nil
}

// encodeName is the body of a config pull: who asks.
func encodeName(k kind, name string) []byte { return seal(k, appendString(nil, name)) }

func decodeName(body []byte) (string, error) {
	r := reader{b: body}
	n := string(r.bytes("node name", 512))
	return n, r.done()
}

// encodeStats and decodeStats carry one node's counters.
func encodeStats(node string, data []byte) []byte {
	return seal(kindStats, append(appendString(nil, node), data...))
}

func decodeStats(body []byte) (string, []byte, error) {
	r := reader{b: body}
	n := string(r.bytes("node name", 512))
	if r.err != nil {
		return "", nil, r.err
	}
	return n, r.b, nil
}

// state is what push/pull exchanges: the sender's name, its config
// version and its digest. Never the store.
type state struct {
	From          string
	ConfigVersion uint64
	Digest        []uint64
}

const stateFormat = 1

func encodeState(s *state) []byte {
	b := []byte{stateFormat}
	b = appendString(b, s.From)
	b = binary.AppendUvarint(b, s.ConfigVersion)
	b = binary.AppendUvarint(b, uint64(len(s.Digest)))
	for _, d := range s.Digest {
		b = binary.LittleEndian.AppendUint64(b, d)
	}
	return b
}

func decodeState(buf []byte) (state, error) {
	var s state
	if len(buf) == 0 || buf[0] != stateFormat {
		return s, fmt.Errorf("%w: state format", ErrMessage)
	}
	r := reader{b: buf[1:]}
	s.From = string(r.bytes("node name", 512))
	s.ConfigVersion = r.uvarint("config version")
	n := r.count("digest size", 8)
	if r.err == nil && (n == 0 || n > maxBuckets) {
		r.fail("digest size")
	}
	if r.err != nil {
		return s, r.err
	}
	s.Digest = make([]uint64, n)
	for i := range s.Digest {
		s.Digest[i] = binary.LittleEndian.Uint64(r.b[8*i:])
	}
	r.b = r.b[8*n:]
	return s, r.done()
}
