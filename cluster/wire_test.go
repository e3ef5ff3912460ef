package cluster

import (
	"bytes"
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
		encodeName(kindConfigPull, "n2"),
		encodeConfig(7, []byte("segments: {}")),
		encodeStats("n3", []byte(`{"node":"n3"}`)),
		seal(kindBatch, appendCount(1, appendRecord(nil, &record{ID: "c", Erased: 3}))),
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
	case kindPull:
		_, err = decodePull(body)
	case kindConfigPull:
		_, err = decodeName(body)
	case kindConfig:
		_, _, err = decodeConfig(body)
	case kindStats:
		_, _, err = decodeStats(body)
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
