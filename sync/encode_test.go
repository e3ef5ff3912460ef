package sync

import (
	"reflect"
	"strings"
	"testing"

	"github.com/marquee-proxy/marquee/profile"
)

// TestStoredFormRoundTrip: a profile written by two nodes decodes to the
// profile that was encoded, sums rebuilt, and encodes again to the same
// bytes; node names are stored once.
func TestStoredFormRoundTrip(t *testing.T) {
	p := benchProfile("v1")
	stampWrite(nil, p, 100<<16, "n1")
	q := p.Clone()
	q.Views["books"][0].Count += 3
	q.Views["toys"] = append(q.Views["toys"], profile.DayCount{Day: 20030, Count: 2})
	q.Sessions += 2
	q.Attrs["tier"] = "platinum"
	delete(q.Attrs, "city")
	stampWrite(p, q, 200<<16, "n0")
	q.Version, q.Node, q.Born = 200<<16, "n0", 100<<16

	data, err := marshalProfile(q)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"n0", "n1"} {
		if c := strings.Count(string(data), `"`+n+`"`); n == "n1" && c != 1 {
			t.Errorf("node %s written %d times, want once: %s", n, c, data)
		}
	}
	if strings.Contains(string(data), `"views"`) || strings.Contains(string(data), `"sessions"`) {
		t.Errorf("derived sums stored: %s", data)
	}
	got, err := unmarshalProfile(data)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, q) {
		t.Errorf("decoded:\n%+v\nwant:\n%+v", got, q)
	}
	again, err := marshalProfile(got)
	if err != nil || string(again) != string(data) {
		t.Errorf("re-encoded differs (%v):\n%s\n%s", err, again, data)
	}
	if v, node := rawVersion(string(data)); v != q.Version || node != q.Node {
		t.Errorf("rawVersion = %v %q", v, node)
	}
}

// TestStoredFormRejectsBadNodeIndex: a record referring past its node
// table is an error, not a panic.
func TestStoredFormRejectsBadNodeIndex(t *testing.T) {
	for _, raw := range []string{
		`{"nodes":["a"],"stamps":{"r":[5,1]},"id":"x","version":5}`,
		`{"nodes":["a"],"node_views":{"c":[1,2,3]},"id":"x","version":5}`,
		`{"nodes":["a"],"node_views":{"c":[1,0]},"id":"x","version":5}`,
		`{"nodes":["a"],"node_views":{"c":[1,0,99999999999]},"id":"x","version":5}`,
		`{"nodes":["a"],"node_sessions":[3,1],"id":"x","version":5}`,
		`{"nodes":["a"],"node_sessions":[0],"id":"x","version":5}`,
	} {
		if _, err := unmarshalProfile([]byte(raw)); err == nil {
			t.Errorf("%s: decoded", raw)
		}
	}
}

func FuzzUnmarshalProfile(f *testing.F) {
	p := benchProfile("v1")
	stampWrite(nil, p, 100<<16, "n1")
	p.Version, p.Node, p.Born = 100<<16, "n1", 100<<16
	data, _ := marshalProfile(p)
	f.Add(data)
	f.Add([]byte(`{"id":"x","views":{"c":[{"d":1,"n":2}]},"sessions":3,"version":5}`))
	f.Add([]byte(`{"nodes":["a"],"node_views":{"c":[ 1 , 0 , -2 ]},"id":"x","version":5}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := unmarshalProfile(b)
		if err != nil {
			return
		}
		if _, err := marshalProfile(p); err != nil {
			t.Fatal(err)
		}
	})
}
