package decide

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/marquee-proxy/marquee/config"
	"github.com/marquee-proxy/marquee/profile"
)

// segmentDoc is a document with one segment, quoted for YAML.
func segmentDoc(when string) string {
	return "segments:\n  s: '" + strings.ReplaceAll(when, "'", "''") + "'\n"
}

// nestedConcat doubles a string n times through let bindings: 2^n bytes.
func nestedConcat(n int) string {
	var b strings.Builder
	b.WriteString(`let a0 = "xxxxxxxxxxxxxxxx"; `)
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "let a%d = a%d + a%d; ", i, i-1, i-1)
	}
	fmt.Fprintf(&b, "len(a%d) > 0", n)
	return b.String()
}

// Each of these would allocate from megabytes to terabytes (the first is
// the report's: 160 GB from replace) or loop for minutes on a page view
// without the budget. Compile must refuse them, located, before any node
// evaluates one on a request.
var blowups = []struct{ name, when, want string }{
	{"replace of two repeats", `len(replace(repeat("a", 400000), "a", repeat("b", 400000))) > 0`, "budget"},
	{"replace growth", `len(replace(repeat("a", 1000), "a", repeat("b", 1000))) > 0`, "budget"},
	{"repeat", `len(repeat("ab", 100000000)) > 0`, "budget"},
	{"repeat overflow", `len(repeat("ab", 9223372036854775807)) > 0`, "budget"},
	{"replace of a profile value", `len(replace(attrs.name, "x", repeat("y", 2000))) > 0`, "budget"},
	{"join of a map", `len(join(map(1..9000, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"), "")) > 0`, "budget"},
	{"split", `len(split(repeat("a", 200000), "")) > 0`, "budget"},
	{"concat in let", nestedConcat(40), "budget"},
	{"concat in reduce", `len(reduce(1..60, #acc + #acc, "ab")) > 0`, "budget"},
	{"range", `len(1..1000000000) > 0`, "memory budget"},
	{"nested loops", `let r = 1..5000; all(r, all(r, all(r, true)))`, "budget"},
	{"map of ranges", `len(map(1..5000, 1..5000)) > 0`, "budget"},
	{"toJSON", `len(toJSON(attrs)) > 0`, "not available"},
	{"fromJSON", `fromJSON("[1]") != nil`, "not available"},
	{"concat builtin", `len(concat(1..10, 1..10)) > 0`, "not available"},
	{"flatten", `len(flatten([1..10])) > 0`, "not available"},
	{"toBase64", `len(toBase64(toBase64("a"))) > 0`, "not available"},
	{"long literal", `attrs.tier == "` + strings.Repeat("g", 2000) + `"`, "string literal"},
}

func TestExpressionBlowupsRefused(t *testing.T) {
	for _, tt := range blowups {
		t.Run(tt.name, func(t *testing.T) {
			for _, doc := range []string{
				segmentDoc(tt.when),
				"campaigns:\n  - id: c\n    slot: hero\n    when: '" + strings.ReplaceAll(tt.when, "'", "''") + "'\n    template: x\n",
			} {
				_, err := Compile(parse(t, doc))
				var ce config.Errors
				if !errors.As(err, &ce) || len(ce) == 0 {
					t.Fatalf("%s: got %v, want a config error", doc, err)
				}
				msg := ce[0].Error()
				if !strings.Contains(msg, "m.yaml:") || !(strings.Contains(msg, "segments.s") || strings.Contains(msg, "campaigns[0].when")) || !strings.Contains(msg, tt.want) {
					t.Errorf("got %q, want a located error mentioning %q", msg, tt.want)
				}
			}
		})
	}
}

// The budgeted builtins still work within the budget.
func TestBudgetedBuiltins(t *testing.T) {
	p := &profile.Profile{Attrs: map[string]any{"tier": "gold", "tags": "a,b,c", "age": 41.0}, Cart: profile.Cart{Items: []profile.CartItem{{Product: "x", Qty: 2, Price: 5}}}}
	for _, when := range []string{
		`attrs.tier + "!" == "gold!"`,
		`"<" + attrs.tier + ">" == "<gold>"`,
		`let t = attrs.tier; t + t == "goldgold"`,
		`attrs.age + 1 == 42`,
		`cart.value + 10 > 15`,
		`purchases.count + 1 == 1`,
		`join(["a", "b"], ",") == "a,b"`,
		`join(split(attrs.tags, ","), "-") == "a-b-c"`,
		`split(attrs.tags, ",")[1] == "b"`,
		`len(splitAfter(attrs.tags, ",")) == 3`,
		`split(attrs.tags, ",", 2)[1] == "b,c"`,
		`replace(attrs.tier, "o", "00") == "g00ld"`,
		`replace("aaa", "a", "b", 2) == "bba"`,
		`repeat("ab", 3) == "ababab"`,
		`string(42) == "42"`,
		`string(attrs.tier) == "gold"`,
		`any(1..10, # > 5) and count(1..100, # % 2 == 0) == 50`,
		`len(map(1..1000, # * 2)) == 1000`,
		`reduce(1..10, #acc + #, 0) == 55`,
		`upper(attrs.tier) == "GOLD" and hasPrefix(attrs.tier, "go")`,
	} {
		e, err := Compile(parse(t, segmentDoc(when)))
		if err != nil {
			t.Errorf("%s: %v", when, err)
			continue
		}
		d := e.Acquire(p, []byte("v"), testNow)
		ok, err := d.runErr(e.segments[0].prog)
		d.Release()
		if err != nil || !ok {
			t.Errorf("%s: got %v, %v; want true", when, ok, err)
		}
	}
}

// A condition within budget on the sample profiles can still exceed it on
// a visitor's own values: it fails like any run-time error, skipping the
// campaign, counted in Decision.Errors.
func TestExpressionBudgetAtRunTime(t *testing.T) {
	e, err := Compile(parse(t, `campaigns:
  - id: big
    slot: hero
    priority: 2
    when: 'len(repeat(attrs.bio, 1000)) > 0'
    template: big
  - id: small
    slot: hero
    template: small
`))
	if err != nil {
		t.Fatal(err)
	}
	d := e.Acquire(&profile.Profile{Attrs: map[string]any{"bio": strings.Repeat("z", 1000)}}, []byte("v"), testNow)
	defer d.Release()
	ch, ok := d.Choose("hero")
	if !ok || ch.Campaign.ID != "small" || d.Errors != 1 {
		t.Errorf("got %v %v with %d errors; want small, 1 error", ch.Campaign, ok, d.Errors)
	}
	// The budget is per evaluation: the next one starts afresh.
	d2 := e.Acquire(&profile.Profile{Attrs: map[string]any{"bio": "z"}}, []byte("v"), testNow)
	defer d2.Release()
	if ch, ok := d2.Choose("hero"); !ok || ch.Campaign.ID != "big" {
		t.Errorf("got %v, want big", ch.Campaign)
	}
}
