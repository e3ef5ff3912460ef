package stats

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/axiomhq/hyperloglog"
)

func validStateJSON(t testing.TB) []byte {
	t.Helper()
	r := newTestRecorder(newClock())
	record(r, 0, 50)
	data, err := json.Marshal(r.State("node-1"))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestDecodeNodeState(t *testing.T) {
	valid := string(validStateJSON(t))
	sketch := `"AQ4AAAAAAAA="` // version 1, precision 14, truncated registers
	tests := []struct {
		name    string
		in      string
		wantErr bool
	}{
		{"valid", valid, false},
		{"minimal", `{"node":"n","started":"2026-11-23T12:00:00Z","at":"2026-11-23T12:00:00Z","campaigns":[]}`, false},
		{"no node", `{"node":" ","campaigns":[]}`, true},
		{"not json", `{"node":`, true},
		{"trailing data", `{"node":"n"} {}`, true},
		{"unknown field", `{"node":"n","extra":1}`, true},
		{"bad time", `{"node":"n","at":"yesterday"}`, true},
		{"empty campaign", `{"node":"n","campaigns":[{"campaign":""}]}`, true},
		{"empty variant", `{"node":"n","campaigns":[{"campaign":"c","variants":[{"name":""}]}]}`, true},
		{"negative weight", `{"node":"n","campaigns":[{"campaign":"c","variants":[{"name":"v","weight":-1}]}]}`, true},
		{"negative count", `{"node":"n","campaigns":[{"campaign":"c","variants":[{"name":"v","exposures":-1}]}]}`, true},
		{"bad sketch", `{"node":"n","campaigns":[{"campaign":"c","variants":[{"name":"v","visitors":` + sketch + `}]}]}`, true},
		{"wrong precision", `{"node":"n","campaigns":[{"campaign":"c","variants":[{"name":"v","converters":"AhAAAAAAAAA="}]}]}`, true},
		{"not base64", `{"node":"n","campaigns":[{"campaign":"c","variants":[{"name":"v","visitors":"!!"}]}]}`, true},
	}
	for _, tt := range tests {
		_, err := DecodeNodeState([]byte(tt.in))
		if (err != nil) != tt.wantErr {
			t.Errorf("%s: err %v, want error %v", tt.name, err, tt.wantErr)
		}
		if err != nil && !errors.Is(err, ErrInvalidState) {
			t.Errorf("%s: err %v does not wrap ErrInvalidState", tt.name, err)
		}
	}
}

func TestStateJSONFields(t *testing.T) {
	data := string(validStateJSON(t))
	for _, field := range []string{`"node":"node-1"`, `"started":"2026-11-23T12:00:00Z"`, `"at":"2026-11-23T12:00:00Z"`,
		`"campaign":"hero"`, `"configured":true`, `"name":"control"`, `"weight":0.5`, `"control":true`,
		`"exposures":`, `"conversions":`, `"visitors":"`, `"converters":"`} {
		if !strings.Contains(data, field) {
			t.Errorf("state JSON lacks %s:\n%s", field, data)
		}
	}
}

// FuzzDecodeNodeState feeds arbitrary bytes to the decoder that will face
// the network: it must never panic, and whatever it accepts must merge and
// marshal.
func FuzzDecodeNodeState(f *testing.F) {
	// Seeds carry small sparse sketches: a dense one is 16 KiB, and the
	// fuzzer spends minutes minimising inputs that large.
	sparse := func(ids ...int) string {
		sk := hyperloglog.New()
		for _, id := range ids {
			sk.Insert(visitor(id))
		}
		b, err := sk.MarshalBinary()
		if err != nil {
			f.Fatal(err)
		}
		return base64.StdEncoding.EncodeToString(b)
	}
	f.Add([]byte(`{"node":"n","started":"2026-11-23T12:00:00Z","at":"2026-11-23T12:01:00Z","campaigns":[{"campaign":"hero","configured":true,"variants":[` +
		`{"name":"control","weight":0.5,"control":true,"exposures":40,"conversions":4,"visitors":"` + sparse(1, 2, 3) + `","converters":"` + sparse(1) + `"},` +
		`{"name":"b","weight":0.5,"exposures":40,"conversions":7,"visitors":"` + sparse(4, 5, 6, 7) + `","converters":"` + sparse(4, 5) + `"}]}]}`))
	f.Add([]byte(`{"node":"n","campaigns":[{"campaign":"c","configured":true,"variants":[{"name":"v","weight":1,"control":true,"exposures":3}]}]}`))
	f.Add([]byte(`{"node":"n","campaigns":[{"campaign":"c","variants":[{"name":"v","visitors":"AQ4AAAAAAAA="}]}]}`))
	f.Add([]byte(`null`))
	// Any JSON the project keeps as shared test data is fair game too.
	if files, _ := filepath.Glob("../../../shared/testdata/*.json"); len(files) > 0 {
		for _, name := range files {
			if data, err := os.ReadFile(name); err == nil {
				f.Add(data)
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		st, err := DecodeNodeState(data)
		if err != nil {
			return
		}
		if _, err := json.Marshal(Merge(st, st)); err != nil {
			t.Fatalf("report of an accepted state does not marshal: %v", err)
		}
	})
}

// TestRestoreContinuesCounts pins what a node restarted on its data_dir
// reports: the counts and unique visitors of its previous run plus the new
// ones, exactly as if it had never stopped, under the same G-counter key.
func TestRestoreContinuesCounts(t *testing.T) {
	c := newClock()
	before := newTestRecorder(c)
	record(before, 0, 60)
	saved, err := DecodeNodeState(mustJSON(t, before.State("n")))
	if err != nil {
		t.Fatal(err)
	}

	c.advance(time.Hour)
	after := NewRecorder(Config{Now: c.now})
	if err := after.Restore(saved); err != nil {
		t.Fatal(err)
	}
	after.Register("hero", abSpecs)
	record(after, 60, 120)

	never := newTestRecorder(c)
	record(never, 0, 120)

	if !after.Started().Equal(before.Started()) {
		t.Errorf("started %v, want the saved %v", after.Started(), before.Started())
	}
	got, want := mustJSON(t, after.Report("n").Campaigns), mustJSON(t, never.Report("n").Campaigns)
	if string(got) != string(want) {
		t.Errorf("restored report\n%s\nwant\n%s", got, want)
	}
	if err := after.Restore(NodeState{Node: " "}); err == nil {
		t.Error("Restore accepted an invalid state")
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
