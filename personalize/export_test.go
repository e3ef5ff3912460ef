package personalize_test

import (
	"bufio"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/marquee-proxy/marquee/export"
	"github.com/marquee-proxy/marquee/internal/personalizetest"
	"github.com/marquee-proxy/marquee/personalize"
	msync "github.com/marquee-proxy/marquee/sync"
)

// exported is a record as the warehouse reads it.
type exported struct {
	EventID                            string `json:"event_id"`
	Type, Campaign, Variant, Node      string
	Visitor, Customer, URL, Experiment *string
	Value                              *float64
}

// startExporting runs an Env whose personaliser exports to files in a
// temporary directory, and returns a function that shuts the exporter
// down and reads back every record.
func startExporting(t *testing.T, yaml string) (*personalizetest.Env, func() []exported) {
	t.Helper()
	return startExportingWith(t, yaml, personalize.Options{})
}

// startExportingWith is startExporting with further options.
func startExportingWith(t *testing.T, yaml string, opts personalize.Options) (*personalizetest.Env, func() []exported) {
	t.Helper()
	dir := t.TempDir()
	ex, err := export.New(export.Options{Node: "n1", File: &export.FileOptions{Dir: dir, Wait: time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	opts.Exporter = ex
	env := personalizetest.Start(t, yaml, slotPage, opts)
	return env, func() []exported {
		t.Helper()
		_ = env.Pers.Close(context.Background()) // conversions are exported once stored
		if err := ex.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
		files, _ := filepath.Glob(filepath.Join(dir, "*.ndjson"))
		var out []exported
		for _, f := range files {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			sc := bufio.NewScanner(strings.NewReader(string(raw)))
			for sc.Scan() {
				var r exported
				if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
					t.Fatalf("%s: %v", sc.Bytes(), err)
				}
				out = append(out, r)
			}
		}
		return out
	}
}

func str(p *string) string {
	if p == nil {
		return "<null>"
	}
	return *p
}

func TestExportExposuresAndConversions(t *testing.T) {
	const cfg = `conversions: {paths: ["/checkout/complete"], events: [purchase], window: 1d}
global_holdout: 0.0001
campaigns:
  - id: exp
    slot: hero
    template: base
    experiment:
      id: hero-test
      variants:
        - {name: a, template: '<b>VARIANT-A</b>', control: true}
        - {name: b, template: '<b>VARIANT-B</b>'}
  - {id: promo, slot: offer, template: '<b>PROMO</b>'}
`
	tests := []struct {
		name string
		run  func(t *testing.T, env *personalizetest.Env, vid string)
		want []string // type campaign experiment url value, one per record, in order
	}{
		{"a page exposes every filled slot and the global holdout", func(t *testing.T, env *personalizetest.Env, vid string) {
			env.Proxy.Get(t, "GET", "/c/shoes?page=2", "Cookie: mq_vid="+vid)
		}, []string{
			"exposure _global _global /c/shoes -",
			"exposure exp hero-test /c/shoes -",
			"exposure promo <null> /c/shoes -",
		}},
		{"a HEAD exposes nothing", func(t *testing.T, env *personalizetest.Env, vid string) {
			env.Proxy.Get(t, "HEAD", "/", "Cookie: mq_vid="+vid)
		}, nil},
		{"a conversion page converts what was seen", func(t *testing.T, env *personalizetest.Env, vid string) {
			env.Proxy.Get(t, "GET", "/", "Cookie: mq_vid="+vid)
			env.Pers.Wait([]byte(vid[:personalize.VisitorIDLen]))
			env.Proxy.Get(t, "GET", "/checkout/complete?order=9", "Cookie: mq_vid="+vid)
		}, []string{
			"exposure _global _global / -",
			"exposure exp hero-test / -",
			"exposure promo <null> / -",
			// The thank-you page has slots too.
			"exposure _global _global /checkout/complete -",
			"exposure exp hero-test /checkout/complete -",
			"exposure promo <null> /checkout/complete -",
			"conversion * * /checkout/complete 0",
			"conversion * * /checkout/complete 0",
			"conversion * * /checkout/complete 0",
		}},
		{"a purchase event converts with its value", func(t *testing.T, env *personalizetest.Env, vid string) {
			env.Proxy.Get(t, "GET", "/", "Cookie: mq_vid="+vid)
			id := vid[:personalize.VisitorIDLen]
			env.Pers.Wait([]byte(id))
			env.Pers.CreditEvent(&msync.Event{ID: "e1", Type: msync.ParseEventType("purchase"), Visitor: id, TS: time.Now(), Value: 42.5})
		}, []string{
			"exposure _global _global / -",
			"exposure exp hero-test / -",
			"exposure promo <null> / -",
			"conversion * * <null> 42.5",
			"conversion * * <null> 42.5",
			"conversion * * <null> 42.5",
		}},
		{"the decide endpoint exports the page, not its own URI", func(t *testing.T, env *personalizetest.Env, vid string) {
			env.Proxy.Get(t, "GET", "/_marquee/decide?slots=offer&url=%2Fc%2Fshoes%3Fcolor%3Dred%26utm_source%3Dmail&referrer=https%3A%2F%2Fother.example%2F%3Fsession%3DS3CRET", "Cookie: mq_vid="+vid)
		}, []string{
			"exposure _global _global /c/shoes?utm_source=mail -",
			"exposure promo <null> /c/shoes?utm_source=mail -",
		}},
		{"the decide endpoint falls back on the Referer's path and query", func(t *testing.T, env *personalizetest.Env, vid string) {
			env.Proxy.Get(t, "GET", "/_marquee/decide?slots=offer", "Cookie: mq_vid="+vid, "Referer: https://shop.example/account/reset?token=SECRET&gclid=g1")
		}, []string{
			"exposure _global _global /account/reset?gclid=g1 -",
			"exposure promo <null> /account/reset?gclid=g1 -",
		}},
		{"a decide call naming no page has no url", func(t *testing.T, env *personalizetest.Env, vid string) {
			env.Proxy.Get(t, "GET", "/_marquee/decide?slots=offer", "Cookie: mq_vid="+vid)
		}, []string{
			"exposure _global _global <null> -",
			"exposure promo <null> <null> -",
		}},
		{"a page's query keeps only the named parameters", func(t *testing.T, env *personalizetest.Env, vid string) {
			env.Proxy.Get(t, "GET", "/?token=SECRET&email=a%40b.example&utm_campaign=x", "Cookie: mq_vid="+vid)
		}, []string{
			"exposure _global _global /?utm_campaign=x -",
			"exposure exp hero-test /?utm_campaign=x -",
			"exposure promo <null> /?utm_campaign=x -",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, read := startExporting(t, cfg)
			vid := string(env.Pers.Signer().AppendMint(nil))
			tt.run(t, env, vid)
			recs := read()
			// A conversion is exported by the write queue once stored,
			// which may be before the thank-you page's own exposures.
			slices.SortStableFunc(recs, func(a, b exported) int { return strings.Compare(b.Type, a.Type) })
			var got []string
			ids := map[string]bool{}
			for _, r := range recs {
				if str(r.Visitor) != vid[:personalize.VisitorIDLen] || r.Customer != nil || r.Node != "n1" {
					t.Errorf("record %+v: want visitor %s, no customer, node n1", r, vid[:personalize.VisitorIDLen])
				}
				if ids[r.EventID] {
					t.Errorf("event_id %q twice", r.EventID)
				}
				ids[r.EventID] = true
				value := "-"
				if r.Value != nil {
					value = strconv.FormatFloat(*r.Value, 'f', -1, 64)
				}
				campaign, experiment := r.Campaign, str(r.Experiment)
				if r.Type == "conversion" {
					campaign, experiment = "*", "*" // in whatever order they were credited
				}
				got = append(got, strings.Join([]string{r.Type, campaign, experiment, str(r.URL), value}, " "))
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestExportNamesTheCustomer(t *testing.T) {
	key := []byte("login-key-0123456789")
	cr, err := personalize.NewCustomerResolver(personalize.CustomerOptions{Cookie: "login", Keys: [][]byte{key}})
	if err != nil {
		t.Fatal(err)
	}
	env, read := startExportingWith(t, "campaigns:\n  - {id: promo, slot: hero, template: '<b>PROMO</b>'}\n", personalize.Options{Customer: cr})
	vid := string(env.Pers.Signer().AppendMint(nil))
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte("c-1042"))
	login := "c-1042." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
	env.Proxy.Get(t, "GET", "/p/1", "Cookie: mq_vid="+vid+"; login="+login)
	recs := read()
	if len(recs) != 1 || str(recs[0].Visitor) != vid[:personalize.VisitorIDLen] || str(recs[0].Customer) != "c-1042" {
		t.Fatalf("got %+v, want one exposure naming visitor %s and customer c-1042", recs, vid[:personalize.VisitorIDLen])
	}
}
