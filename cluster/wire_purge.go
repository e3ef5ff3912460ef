package cluster

import (
	"encoding/binary"
	"time"

	"github.com/marquee-proxy/marquee/cache"
)

// maxPurgeBytes bounds one purge's encoding. The admin API reads at most
// 1 MiB of JSON per purge, whose binary form is smaller, so every purge it
// accepts fits.
const maxPurgeBytes = 1 << 20

// purgeID names one purge across the fleet: the node that issued it and a
// stamp strictly increasing on that node (Unix nanoseconds of the issue).
type purgeID struct {
	Node  string
	Stamp uint64
}

// loggedPurge is a purge with its id, as the purge log keeps it and the
// wire carries it.
type loggedPurge struct {
	ID    purgeID
	Purge cache.Purge
}

// appendPurge encodes lp: its id, At in Unix nanoseconds, a flags byte
// (bit 0: All), then the URLs, prefixes and tags, each a counted list.
func appendPurge(dst []byte, lp *loggedPurge) []byte {
	dst = appendString(dst, lp.ID.Node)
	dst = binary.AppendUvarint(dst, lp.ID.Stamp)
	dst = binary.AppendVarint(dst, lp.Purge.At.UnixNano())
	var flags byte
	if lp.Purge.All {
		flags |= 1
	}
	dst = append(dst, flags)
	for _, list := range [][]string{lp.Purge.URLs, lp.Purge.Prefixes, lp.Purge.Tags} {
		dst = binary.AppendUvarint(dst, uint64(len(list)))
		for _, s := range list {
			dst = appendString(dst, s)
		}
	}
	return dst
}

// purgeSize is the length of lp's encoding.
func purgeSize(lp *loggedPurge) int { return len(appendPurge(nil, lp)) }

// purge decodes one purge and checks it as the admin API would: a purge
// that names nothing, too much, or a malformed target is refused.
func (r *reader) purge() loggedPurge {
	var lp loggedPurge
	start := len(r.b)
	lp.ID.Node = string(r.bytes("purge node", 512))
	lp.ID.Stamp = r.uvarint("purge stamp")
	at := r.varint("purge time")
	flags := r.byte("purge flags")
	if r.err == nil && (lp.ID.Node == "" || lp.ID.Stamp == 0 || at == 0 || flags&^1 != 0) {
		r.fail("purge header")
	}
	lp.Purge.At = time.Unix(0, at).UTC()
	lp.Purge.All = flags&1 != 0
	lists := []*[]string{&lp.Purge.URLs, &lp.Purge.Prefixes, &lp.Purge.Tags}
	for _, list := range lists {
		n := r.count("purge list", 1)
		if n == 0 {
			continue
		}
		*list = make([]string, 0, min(n, cache.MaxPurgeItems+1))
		for range n {
			*list = append(*list, string(r.bytes("purge item", maxPurgeBytes)))
			if len(*list) > cache.MaxPurgeItems {
				r.fail("purge list")
				break
			}
		}
	}
	if r.err == nil && start-len(r.b) > maxPurgeBytes {
		r.fail("purge size")
	}
	if r.err == nil && lp.Purge.Validate() != nil {
		r.fail("purge")
	}
	return lp
}

// encodePurges encodes a page of purges as one kindPurge message.
func encodePurges(ps []loggedPurge) []byte { return seal(kindPurge, appendPurges(nil, ps)) }

// appendPurges appends the body of a kindPurge: a count, then purges.
func appendPurges(dst []byte, ps []loggedPurge) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(ps)))
	for i := range ps {
		dst = appendPurge(dst, &ps[i])
	}
	return dst
}

// decodePurges decodes the body of a kindPurge. Nothing aliases body.
func decodePurges(body []byte) ([]loggedPurge, error) {
	r := reader{b: body}
	n := r.count("purge count", 8)
	out := make([]loggedPurge, 0, n)
	for range n {
		out = append(out, r.purge())
		if r.err != nil {
			break
		}
	}
	if err := r.done(); err != nil {
		return nil, err
	}
	return out, nil
}

// purgeSum is what a node tells a peer about its purge log after a
// push/pull: enough to tell whether the two logs differ.
type purgeSum struct {
	From  string
	Count int
	Sum   uint64
}

func encodePurgeSum(s *purgeSum) []byte {
	b := appendString(nil, s.From)
	b = binary.AppendUvarint(b, uint64(s.Count))
	return seal(kindPurgeSum, binary.LittleEndian.AppendUint64(b, s.Sum))
}

func decodePurgeSum(body []byte) (purgeSum, error) {
	r := reader{b: body}
	s := purgeSum{From: string(r.bytes("node name", 512))}
	s.Count = int(min(r.uvarint("purge count"), 1<<31))
	s.Sum = r.uint64("purge sum")
	if r.err == nil && s.From == "" {
		r.fail("node name")
	}
	return s, r.done()
}

// purgePull lists the purges its sender keeps; the receiver answers with
// the ones it keeps that are not listed.
type purgePull struct {
	From string
	Have []purgeID
}

func encodePurgePull(p *purgePull) []byte {
	b := appendString(nil, p.From)
	b = binary.AppendUvarint(b, uint64(len(p.Have)))
	for _, id := range p.Have {
		b = appendString(b, id.Node)
		b = binary.AppendUvarint(b, id.Stamp)
	}
	return seal(kindPurgePull, b)
}

func decodePurgePull(body []byte) (purgePull, error) {
	r := reader{b: body}
	p := purgePull{From: string(r.bytes("node name", 512))}
	if r.err == nil && p.From == "" {
		r.fail("node name")
	}
	n := r.count("purge count", 3)
	p.Have = make([]purgeID, 0, n)
	for range n {
		id := purgeID{Node: string(r.bytes("purge node", 512))}
		id.Stamp = r.uvarint("purge stamp")
		if r.err != nil {
			break
		}
		p.Have = append(p.Have, id)
	}
	return p, r.done()
}
