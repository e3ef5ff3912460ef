package cluster

import (
	"bytes"
	"encoding/binary"
	"testing"

	msync "github.com/marquee-proxy/marquee/sync"
)

// wireCases are valid messages of every kind; they also seed the fuzzer.
func wireCases() [][]byte {
	return [][]byte{
		encodeDelta(&record{ID: "v1", Profile: []byte(`{"id":"v1","version":1}`)}),
		encodeDelta(&record{ID: "v1", Erased: 42}),
		encodeDelta(&record{ID: "v2", Profile: bytes.Repeat([]byte(`{"id":"v2"}`), 100)}),
		seal(kindRecords, appendCount(2, appendRecord(appendRecord(nil, &record{ID: "a", Erased: 9}), &record{ID: "b", Profile: []byte("{}")}))),
		encodePull(&pull{From: "n1", Buckets: 16, Want: []int{1, 3}, Entries: []msync.Entry{{ID: "x", Version: 5, Erased: 2}}}),
		encodePull(&pull{From: "n1", Buckets: 16, Want: []int{1, 3}, Sums: true, Entries: []msync.Entry{{ID: "x", Version: 5, Node: "n2", Erased: 2, Sum: 0xdeadbeef}}}),
		prevEncodePull(&pull{From: "n0", Buckets: 4, Want: []int{0}, Entries: []msync.Entry{{ID: "y", Version: 9, Node: "n0"}}}),
		encodeName(kindConfigPull, "n2"),
		encodeConfig(7, []byte("segments: {}")),
		encodeStats("n3", []byte(`{"node":"n3"}`)),
		seal(kindBatch, appendCount(1, appendRecord(nil, &record{ID: "c", Erased: 3}))),
		encodePurges(purgeCases()),
		encodePurgeSum(&purgeSum{From: "n4", Count: 2, Sum: 99}),
		encodePurgePull(&purgePull{From: "n4", Have: []purgeID{{"n1", 1}}}),
	}
}

func TestWireRoundTrip(t *testing.T) {
	for i, msg := range wireCases() {
		if err := decodeAny(msg); err != nil {
			t.Errorf("case %d: %v", i, err)
		}
	}
	st := state{From: "n", ConfigVersion: 3, Digest: []uint64{1, 2, 3}}
	got, err := decodeState(encodeState(&st))
	if err != nil || got.From != "n" || got.ConfigVersion != 3 || len(got.Digest) != 3 || got.Digest[2] != 3 {
		t.Errorf("state round trip: got %+v, %v", got, err)
	}
	for _, bad := range [][]byte{nil, {0}, {byte(kindDelta), 9}, {byte(kindEnd), 0}, {byte(kindDelta), 0, 1, 200}} {
		if decodeAny(bad) == nil {
			t.Errorf("%q decoded, want an error", bad)
		}
	}
}

// decodeAny decodes a message of any kind as the receiver would.
func decodeAny(msg []byte) error {
	k, body, err := open(msg)
	if err != nil {
		return err
	}
	switch k {
	case kindDelta, kindRecords, kindBatch:
		_, err = decodeRecords(k, body)
	case kindPull, kindPullSum:
		_, err = decodePull(k, body)
	case kindConfigPull:
		_, err = decodeName(body)
	case kindConfig:
		_, _, err = decodeConfig(body)
	case kindStats:
		_, _, err = decodeStats(body)
	case kindPurge:
		_, err = decodePurges(body)
	case kindPurgeSum:
		_, err = decodePurgeSum(body)
	case kindPurgePull:
		_, err = decodePurgePull(body)
	}
	return err
}

func FuzzDecode(f *testing.F) {
	for _, c := range wireCases() {
		f.Add(c)
	}
	f.Add(encodeState(&state{From: "n", Digest: []uint64{1}}))
	f.Fuzz(func(t *testing.T, msg []byte) {
		_ = decodeAny(msg)
		_, _ = decodeState(msg)
	})
}

// prevKindEnd and prevEncodePull are the previous release's (cb0c30c):
// a pull's entries without content sums.
const prevKindEnd = 8

func prevEncodePull(p *pull) []byte {
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
	}
	return seal(kindPull, b)
}

// TestPullFromPreviousRelease: a pull encoded as the previous release
// encodes it decodes, without sums, and is answered comparing versions
// and nodes only; a pull to such a node is encoded byte for byte as it
// expects; the new kind is one it rejects rather than misreads.
func TestPullFromPreviousRelease(t *testing.T) {
	entries := []msync.Entry{{ID: "a", Version: 5, Node: "n1"}, {ID: "b", Version: 7, Node: "n2", Erased: 3}}
	old := prevEncodePull(&pull{From: "old", Buckets: 16, Want: []int{2, 9}, Entries: entries})
	k, body, err := open(old)
	if err != nil || k != kindPull {
		t.Fatalf("open: %v %v", k, err)
	}
	p, err := decodePull(k, body)
	if err != nil {
		t.Fatal(err)
	}
	if p.Sums || p.From != "old" || p.Buckets != 16 || len(p.Want) != 2 || len(p.Entries) != 2 || p.Entries[1] != entries[1] {
		t.Fatalf("decoded %+v", p)
	}
	mine := msync.Entry{ID: "a", Version: 5, Node: "n1", Sum: 77}
	if p.differs(mine, p.Entries[0]) {
		t.Error("an entry of the same version and node is sent to a node that sent no sums")
	}
	if newer := (msync.Entry{ID: "a", Version: 6, Node: "n1"}); !p.differs(newer, p.Entries[0]) {
		t.Error("a newer entry is not sent")
	}
	withSums := pull{Sums: true}
	if !withSums.differs(mine, msync.Entry{ID: "a", Version: 5, Node: "n1", Sum: 78}) {
		t.Error("copies of one version with different content are not repaired between new nodes")
	}

	p.Entries[0].Sum = 99 // not encoded without Sums
	if got := encodePull(&p); !bytes.Equal(got, old) {
		t.Errorf("pull to a previous-release node:\n%x\nwant\n%x", got, old)
	}
	p.Sums = true
	if got := encodePull(&p); got[0] != byte(kindPullSum) || kindPullSum < prevKindEnd {
		t.Errorf("pull with sums: kind %d, which the previous release (kinds below %d) does not reject", got[0], prevKindEnd)
	}
	k, body, _ = open(encodePull(&p))
	if q, err := decodePull(k, body); err != nil || !q.Sums || q.Entries[0].Sum != 99 {
		t.Errorf("pull with sums round trip: %+v %v", q, err)
	}
}

func TestWireMetaSuffix(t *testing.T) {
	m := []byte("1.4.0" + wireMetaSuffix)
	if !hasWireSuffix(m) || string(trimWireSuffix(m)) != "1.4.0" {
		t.Errorf("%q", m)
	}
	if hasWireSuffix([]byte("1.3.9")) || string(trimWireSuffix([]byte("1.3.9"))) != "1.3.9" {
		t.Error("a previous release's meta")
	}
}
