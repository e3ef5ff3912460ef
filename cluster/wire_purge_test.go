package cluster

import (
	"bytes"
	"encoding/binary"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/marquee-proxy/marquee/cache"
)

var purgeAt = time.Date(2026, 12, 7, 6, 0, 0, 123, time.UTC)

// purgeCases are valid purges; they also seed FuzzDecodePurge.
func purgeCases() []loggedPurge {
	return []loggedPurge{
		{ID: purgeID{"n1", 1}, Purge: cache.Purge{URLs: []string{"https://shop.example/p/1", "/p/2"}, At: purgeAt}},
		{ID: purgeID{"n2", 1 << 62}, Purge: cache.Purge{Prefixes: []string{"/category/"}, At: purgeAt}},
		{ID: purgeID{"edge-3", 77}, Purge: cache.Purge{Tags: []string{"product-1", "listing"}, At: purgeAt}},
		{ID: purgeID{"n4", 5}, Purge: cache.Purge{All: true, At: time.Unix(0, -1).UTC()}},
		{ID: purgeID{"n5", 6}, Purge: cache.Purge{URLs: []string{"/a"}, Prefixes: []string{"http://h/"}, Tags: []string{"t"}, All: true, At: purgeAt}},
	}
}

func TestPurgeWireRoundTrip(t *testing.T) {
	cases := purgeCases()
	for i := range cases {
		k, body, err := open(encodePurges(cases[i : i+1]))
		if err != nil || k != kindPurge {
			t.Fatalf("case %d: open: %v %v", i, k, err)
		}
		got, err := decodePurges(body)
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		if len(got) != 1 || !reflect.DeepEqual(got[0], cases[i]) {
			t.Errorf("case %d: got %+v, want %+v", i, got, cases[i])
		}
	}
	_, body, _ := open(encodePurges(cases))
	if got, err := decodePurges(body); err != nil || !reflect.DeepEqual(got, cases) {
		t.Errorf("page of %d: got %+v, %v", len(cases), got, err)
	}

	s := purgeSum{From: "n1", Count: 3, Sum: 0xfeedface}
	_, body, _ = open(encodePurgeSum(&s))
	if got, err := decodePurgeSum(body); err != nil || got != s {
		t.Errorf("sum: got %+v, %v, want %+v", got, err, s)
	}
	p := purgePull{From: "n2", Have: []purgeID{{"n1", 9}, {"n3", 1 << 40}}}
	_, body, _ = open(encodePurgePull(&p))
	if got, err := decodePurgePull(body); err != nil || !reflect.DeepEqual(got, p) {
		t.Errorf("pull: got %+v, %v, want %+v", got, err, p)
	}
}

// appendRawPurge encodes a purge without checking it, as a faulty or
// hostile node might.
func appendRawPurge(node string, stamp uint64, at int64, flags byte, lists ...[]string) []byte {
	b := binary.AppendUvarint(nil, 1)
	b = appendString(b, node)
	b = binary.AppendUvarint(b, stamp)
	b = binary.AppendVarint(b, at)
	b = append(b, flags)
	for len(lists) < 3 {
		lists = append(lists, nil)
	}
	for _, l := range lists {
		b = binary.AppendUvarint(b, uint64(len(l)))
		for _, s := range l {
			b = appendString(b, s)
		}
	}
	return b
}

func TestPurgeWireRefuses(t *testing.T) {
	valid := appendRawPurge("n", 1, 1, 0, []string{"/a"})
	tooMany := make([]string, cache.MaxPurgeItems+1)
	for i := range tooMany {
		tooMany[i] = "/x"
	}
	tests := []struct {
		name string
		body []byte
	}{
		{"empty", nil},
		{"count only", []byte{1}},
		{"trailing byte", append(bytes.Clone(valid), 0)},
		{"truncated", valid[:len(valid)-1]},
		{"no node", appendRawPurge("", 1, 1, 0, []string{"/a"})},
		{"zero stamp", appendRawPurge("n", 0, 1, 0, []string{"/a"})},
		{"zero time", appendRawPurge("n", 1, 0, 0, []string{"/a"})},
		{"unknown flag", appendRawPurge("n", 1, 1, 2, []string{"/a"})},
		{"names nothing", appendRawPurge("n", 1, 1, 0)},
		{"bad url", appendRawPurge("n", 1, 1, 0, []string{"shop/a"})},
		{"bad tag", appendRawPurge("n", 1, 1, 0, nil, nil, []string{"a b"})},
		{"too many items", appendRawPurge("n", 1, 1, 0, tooMany)},
		{"count past body", []byte{200, 1, 'n'}},
		{"item over 1 MiB", appendRawPurge("n", 1, 1, 0, []string{"/" + strings.Repeat("a", maxPurgeBytes)})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, err := decodePurges(tt.body); err == nil {
				t.Errorf("decoded %+v, want an error", got)
			}
		})
	}
	for _, bad := range [][]byte{nil, {1, 'n', 1}, appendString(nil, "")} {
		if _, err := decodePurgeSum(bad); err == nil {
			t.Errorf("purge sum %q decoded", bad)
		}
		if _, err := decodePurgePull(bad); err == nil {
			t.Errorf("purge pull %q decoded", bad)
		}
	}
}

// FuzzDecodePurge: no input panics the purge decoders or makes them
// allocate past the body's own size, and whatever decodes encodes back
// to purges that decode the same.
func FuzzDecodePurge(f *testing.F) {
	cases := purgeCases()
	for i := range cases {
		_, body, _ := open(encodePurges(cases[i : i+1]))
		f.Add(body)
	}
	_, body, _ := open(encodePurgeSum(&purgeSum{From: "n", Count: 1, Sum: 2}))
	f.Add(body)
	_, body, _ = open(encodePurgePull(&purgePull{From: "n", Have: []purgeID{{"m", 3}}}))
	f.Add(body)
	f.Fuzz(func(t *testing.T, body []byte) {
		_, _ = decodePurgeSum(body)
		_, _ = decodePurgePull(body)
		ps, err := decodePurges(body)
		if err != nil {
			return
		}
		got, err := decodePurges(appendPurges(nil, ps))
		if err != nil || !reflect.DeepEqual(got, ps) {
			t.Fatalf("re-encoded purges decode as %+v, %v; want %+v", got, err, ps)
		}
	})
}

// prevPurgeKindEnd is the kindEnd of the release before purges (5b2c257
// and earlier): its open refuses every purge kind as an unknown kind,
// which its inbox counts as malformed and drops, so a purge that reached
// it would be ignored, never misread. None is sent to it anyway: it does
// not announce wireMetaPurge.
const prevPurgeKindEnd = 9

func TestPurgeKindsUnknownToPreviousRelease(t *testing.T) {
	for _, k := range []kind{kindPurge, kindPurgeSum, kindPurgePull} {
		if k < prevPurgeKindEnd {
			t.Errorf("kind %v is %d, which a previous release decodes as one of its own", k, k)
		}
		if k.String() == "invalid" {
			t.Errorf("kind %d has no name", k)
		}
	}
	tests := []struct {
		meta           string
		pullSum, purge bool
		trimmed        string
	}{
		{meta: string(wireMeta("1.6.0")), pullSum: true, purge: true, trimmed: "1.6.0"},
		// The release before purges, and the one before pull sums.
		{meta: "1.5.0" + wireMetaSuffix, pullSum: true, trimmed: "1.5.0"},
		{meta: "1.3.9", trimmed: "1.3.9"},
		{meta: "1.6.0" + wireMetaPurge, trimmed: "1.6.0" + wireMetaPurge},
	}
	for _, tt := range tests {
		m := []byte(tt.meta)
		if hasWireSuffix(m) != tt.pullSum || hasPurgeSuffix(m) != tt.purge || string(trimWireSuffix(m)) != tt.trimmed {
			t.Errorf("%q: pullsum %v purge %v trimmed %q, want %v %v %q", m, hasWireSuffix(m), hasPurgeSuffix(m), trimWireSuffix(m), tt.pullSum, tt.purge, tt.trimmed)
		}
	}
	// A node of the previous release still finds the pull-sum suffix at
	// the end of a new node's meta.
	if !bytes.HasSuffix(wireMeta("1.6.0"), []byte(" +pullsum")) {
		t.Errorf("new meta %q does not end with the previous release's suffix", wireMeta("1.6.0"))
	}
}
