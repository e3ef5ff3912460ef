package decide

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/marquee-proxy/marquee/config"
	"github.com/marquee-proxy/marquee/profile"
)

func templateDoc(tmpl string) string {
	return "campaigns:\n  - id: c\n    slot: hero\n    template: '" + strings.ReplaceAll(tmpl, "'", "''") + "'\n"
}

// Templates whose work no output bounds, or whose output on a sample
// profile exceeds the limit, are config errors located at the template.
func TestOfferTemplatesRefused(t *testing.T) {
	for _, tt := range []struct{ tmpl, want string }{
		{`{{range 100000000}}x{{end}}`, "range"},
		{`{{range 100}}{{range 100}}{{range 100}}{{end}}{{end}}{{end}}`, "range"},
		{`{{range 1e9}}x{{end}}`, "range"},
		{`{{define "a"}}{{template "b"}}{{template "b"}}{{end}}{{define "b"}}x{{end}}{{template "a"}}`, "not available"},
		{`{{block "a" .}}x{{end}}`, "not available"},
		{`{{range .Profile.Recent}}` + strings.Repeat(`{{$.Profile.Attrs.name}}`, 10) + `{{end}}`, "offer larger"},
		{strings.Repeat("{{range 99}}x{{end}}", 10) + `{{range 9000}}` + strings.Repeat("y", 8) + `{{end}}`, "offer larger"},
	} {
		_, err := Compile(parse(t, templateDoc(tt.tmpl)))
		var ce config.Errors
		if !errors.As(err, &ce) || len(ce) == 0 {
			t.Errorf("%s: got %v, want a config error", tt.tmpl, err)
			continue
		}
		if msg := ce[0].Error(); !strings.Contains(msg, "m.yaml:") || !strings.Contains(msg, "campaigns[0].template") || !strings.Contains(msg, tt.want) {
			t.Errorf("%s: got %q, want a located error mentioning %q", tt.tmpl, msg, tt.want)
		}
	}
	for _, ok := range []string{`{{range 10}}x{{end}}`, `{{range .Profile.Recent}}<i>{{.}}</i>{{end}}`, `{{if .Profile.Attrs.name}}Hi {{.Profile.Attrs.name}}{{end}}`} {
		if _, err := Compile(parse(t, templateDoc(ok))); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
}

// A visitor's own values can still make an offer too large: the slot keeps
// its fallback (an error, nothing appended), and the failure is remembered
// for that profile snapshot.
func TestOfferSizeLimitAtRunTime(t *testing.T) {
	e, err := Compile(parse(t, templateDoc(`<b>{{.Profile.Attrs.bio}}</b>`)))
	if err != nil {
		t.Fatal(err)
	}
	e.renderTime = time.Minute
	p := &profile.Profile{Attrs: map[string]any{"bio": strings.Repeat("z", MaxOfferSize)}}
	d := e.Acquire(p, []byte("v"), testNow)
	defer d.Release()
	ch, ok := d.Choose("hero")
	if !ok {
		t.Fatal("no choice")
	}
	for range 2 {
		out, err := d.AppendOffer([]byte("prefix"), ch)
		if !errors.Is(err, ErrOfferTooLarge) || string(out) != "prefix" {
			t.Fatalf("got %d bytes, %v; want the prefix alone and %v", len(out), err, ErrOfferTooLarge)
		}
	}
	small := &profile.Profile{Attrs: map[string]any{"bio": "hi"}}
	d2 := e.Acquire(small, []byte("v"), testNow)
	defer d2.Release()
	if out, err := d2.AppendOffer(nil, ch); err != nil || string(out) != "<b>hi</b>" {
		t.Errorf("got %q, %v", out, err)
	}
}

func TestOfferRenderTimeLimit(t *testing.T) {
	// Small enough that the trial renders at compile time pass on a busy
	// machine; past the deadline of a nanosecond, the first write fails.
	e, err := Compile(parse(t, templateDoc(`{{range 50}}-{{$.Profile.Attrs.nick}}{{end}}`)))
	if err != nil {
		t.Fatal(err)
	}
	e.renderTime = time.Nanosecond
	d := e.Acquire(&profile.Profile{Attrs: map[string]any{"nick": "a"}}, []byte("v"), testNow)
	defer d.Release()
	ch, _ := d.Choose("hero")
	if out, err := d.AppendOffer(nil, ch); !errors.Is(err, ErrRenderTimeout) || len(out) != 0 {
		t.Errorf("got %d bytes, %v; want none and %v", len(out), err, ErrRenderTimeout)
	}
}

// The offer cache holds about offerCacheBytes, whatever the offers weigh.
func TestOfferCacheBoundedByBytes(t *testing.T) {
	e, err := Compile(parse(t, templateDoc(`{{.Profile.Attrs.bio}}`)))
	if err != nil {
		t.Fatal(err)
	}
	const maxBytes = 1 << 20
	e.offers = newOfferCache(offerCacheEntries, maxBytes)
	e.renderTime = time.Minute // a loaded machine must not fail renderings here
	bio := strings.Repeat("q", 4000)
	for i := range 1000 {
		d := e.Acquire(&profile.Profile{ID: fmt.Sprint(i), Attrs: map[string]any{"bio": bio}}, []byte("v"), testNow)
		ch, _ := d.Choose("hero")
		if _, err := d.AppendOffer(nil, ch); err != nil {
			t.Fatal(err)
		}
		d.Release()
	}
	if n := e.offers.Bytes(); n > maxBytes || n == 0 {
		t.Errorf("offer cache holds %d bytes, bound %d", n, maxBytes)
	}
}
